/* 待核对: decide a card with the keyboard.  Y/N answer the selected open question and move on;
   arrows or 1–9, 0 select a question; Enter confirms (the form's own submit).  No build step. */
(function () {
  "use strict";
  var form = document.getElementById("confirm-form");
  if (!form) return;
  var rows = Array.prototype.slice.call(form.querySelectorAll(".qrow[data-open='1']"));
  var at = -1;

  function select(k) {
    if (!rows.length) return;
    at = Math.max(0, Math.min(rows.length - 1, k));
    rows.forEach(function (r, i) { r.classList.toggle("focus", i === at); });
    rows[at].scrollIntoView({ block: "nearest" });
  }
  function answer(value) {
    if (at < 0) return;
    var input = rows[at].querySelector("input[value='" + value + "']");
    if (!input || input.disabled) return;
    input.checked = true;
    var next = rows.findIndex(function (r, i) { return i > at && !r.querySelector("input:checked"); });
    if (next < 0) next = rows.findIndex(function (r) { return !r.querySelector("input:checked"); });
    select(next < 0 ? at : next);
  }
  rows.forEach(function (r, i) { r.addEventListener("click", function () { select(i); }); });
  select(0);
  var serial = document.getElementById("serial");
  if (serial) serial.focus();

  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    var typing = e.target && e.target.tagName === "INPUT" && e.target.type === "text";
    if (typing) {
      if (e.key === "Enter") { e.preventDefault(); e.target.blur(); select(0); }
      return;
    }
    var k = e.key;
    if (k === "y" || k === "Y") { answer("是"); e.preventDefault(); }
    else if (k === "n" || k === "N") { answer("否"); e.preventDefault(); }
    else if (k === "ArrowDown") { select(at + 1); e.preventDefault(); }
    else if (k === "ArrowUp") { select(at - 1); e.preventDefault(); }
    else if (/^[0-9]$/.test(k)) {
      var q = k === "0" ? 10 : Number(k);
      var i = rows.findIndex(function (r) { return Number(r.getAttribute("data-q")) === q; });
      if (i >= 0) select(i);
      e.preventDefault();
    } else if (k === "Enter") {
      var missing = rows.filter(function (r) { return !r.querySelector("input:checked"); });
      e.preventDefault();
      if (missing.length) { select(rows.indexOf(missing[0])); return; }
      form.requestSubmit ? form.requestSubmit() : form.submit();
    }
  });
})();
