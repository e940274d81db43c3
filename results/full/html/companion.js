function closerlookToggle(button) {
  var reading = document.body.classList.toggle('closerlook-reading');
  button.textContent = reading ? 'show code' : 'hide code';
}
document.addEventListener('DOMContentLoaded', function () {
  if (document.querySelector('.closerlook-bar')) { document.body.classList.add('closerlook-reading'); }
});
window.addEventListener('load', function () {
  var broken = Array.prototype.filter.call(document.images, function (i) { return !i.complete || i.naturalWidth === 0; });
  document.body.setAttribute('data-images', document.images.length);
  document.body.setAttribute('data-broken-images', broken.length);
  document.body.setAttribute('data-broken-list', broken.map(function (i) { return i.getAttribute('src'); }).join(' '));
});
