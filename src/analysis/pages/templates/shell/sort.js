/* Sort the portfolio table by a column: numbers by their value, money within one currency. */
document.querySelectorAll('#portfolio th[data-sort]').forEach(function (th) {
  th.addEventListener('click', function () {
    var i = +th.dataset.sort, tb = th.closest('table').tBodies[0], asc = th.dataset.asc !== '1';
    th.dataset.asc = asc ? '1' : '0';
    var rows = Array.from(tb.rows);
    rows.sort(function (a, b) {
      var x = a.cells[i], y = b.cells[i];
      if (!x || !y) return 0;
      var cx = x.dataset.c || '', cy = y.dataset.c || '';
      if (cx !== cy) return cx.localeCompare(cy);
      var vx = x.dataset.v, vy = y.dataset.v;
      var r = (vx !== undefined && vy !== undefined && vx !== '' && vy !== '') ? (+vx) - (+vy)
              : x.textContent.localeCompare(y.textContent);
      return asc ? r : -r;
    });
    rows.forEach(function (r) { tb.appendChild(r); });
  });
});
