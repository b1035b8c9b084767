// Signed-in pages on a phone: each table row reads as a card. Every cell is labelled
// with its column's header, so "2" reads "Seats 2". Without this script the tables
// scroll sideways instead.
document.querySelectorAll("table.board, table.data").forEach(function (table) {
  var heads = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
    return th.textContent.trim();
  });
  if (!heads.length) return;
  table.querySelectorAll("tbody tr, tfoot tr").forEach(function (row) {
    Array.prototype.forEach.call(row.children, function (cell, i) {
      if (heads[i]) cell.setAttribute("data-label", heads[i]);
    });
  });
  table.classList.add("stacks");
});
