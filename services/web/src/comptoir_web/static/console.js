// Signed-in pages on a phone: each table row reads as a card. Every cell is labelled
// with its column's header, so "2" reads "Seats 2". Without this script the tables
// scroll sideways instead.
//
// A table, row or cell shown as a block or a flex box loses its table semantics in
// some browsers, so screen readers would no longer announce rows and columns: the
// ARIA roles below give them back, whatever the layout.
document.querySelectorAll("table.board, table.data").forEach(function (table) {
  var heads = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
    return th.textContent.trim();
  });
  if (!heads.length) return;
  table.setAttribute("role", "table");
  Array.prototype.forEach.call(table.children, function (part) {
    if (/^(THEAD|TBODY|TFOOT)$/.test(part.tagName)) part.setAttribute("role", "rowgroup");
  });
  table.querySelectorAll("tr").forEach(function (row) {
    row.setAttribute("role", "row");
    var inHead = row.parentNode.tagName === "THEAD";
    Array.prototype.forEach.call(row.children, function (cell, i) {
      if (inHead) {
        cell.setAttribute("role", "columnheader");
        return;
      }
      cell.setAttribute("role", cell.tagName === "TH" ? "rowheader" : "cell");
      if (heads[i]) cell.setAttribute("data-label", heads[i]);
    });
  });
  table.classList.add("stacks");
});
