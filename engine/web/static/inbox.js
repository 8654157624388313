/* 收件: send dropped files one request each, two at a time; each row gets its outcome when it comes.
   No framework, no build step.  The server answers with table rows (header X-Ruqi-Part). */
(function () {
  "use strict";
  var form = document.getElementById("drop");
  if (!form || !window.XMLHttpRequest || !window.FormData) return;
  var pick = document.getElementById("pick");
  var rows = document.getElementById("result-rows");
  var none = document.getElementById("no-results");
  var wrap = document.getElementById("overall-wrap");
  var bar = document.getElementById("overall");
  var text = document.getElementById("overall-text");
  var csrf = form.getAttribute("data-csrf");
  var queue = [], running = 0, total = 0, done = 0, PARALLEL = 2;

  function cell(tr, s, cls) { var td = document.createElement("td"); td.textContent = s; if (cls) td.className = cls; tr.appendChild(td); return td; }

  function progress() {
    wrap.hidden = false;
    bar.max = total; bar.value = done;
    text.textContent = "已处理 " + done + " / " + total + " 个文件" + (done < total ? "……" : "。");
  }

  function add(file) {
    var tr = document.createElement("tr");
    tr.className = "pending";
    tr.setAttribute("data-status", "pending");
    cell(tr, file.name);
    var st = cell(tr, "等待上传", "muted");
    for (var i = 0; i < 4; i++) cell(tr, "");
    rows.appendChild(tr);
    if (none) none.hidden = true;
    queue.push({ file: file, tr: tr, st: st });
    total += 1;
  }

  function finish(job, html, failed) {
    done += 1;
    if (failed) {
      job.st.textContent = failed; job.st.className = "bad"; job.tr.setAttribute("data-status", "failed");
    } else {
      var t = document.createElement("tbody");
      t.innerHTML = html;  /* rows rendered by the server, escaped there */
      var got = Array.prototype.slice.call(t.children);
      got.forEach(function (r) { rows.insertBefore(r, job.tr); });
      rows.removeChild(job.tr);
    }
    running -= 1; progress(); next();
  }

  function send(job) {
    running += 1;
    var data = new FormData();
    data.append("files", job.file, job.file.name);
    var x = new XMLHttpRequest();
    x.open("POST", "/inbox/files?csrf_token=" + encodeURIComponent(csrf));
    x.setRequestHeader("X-CSRF-Token", csrf);
    x.setRequestHeader("X-Ruqi-Part", "1");
    x.upload.onprogress = function (e) {
      if (e.lengthComputable) job.st.textContent = "上传中 " + Math.round(100 * e.loaded / e.total) + "%";
    };
    x.upload.onload = function () { job.st.textContent = "处理中……"; job.tr.setAttribute("data-status", "processing"); };
    x.onload = function () {
      if (x.status === 200) finish(job, x.responseText, null);
      else if (x.status === 401) finish(job, "", "登录已过期，请重新登录后再上传");
      else if (x.status === 403) finish(job, "", "没有权限或页面已过期（请刷新页面）");
      else finish(job, "", "上传失败（" + x.status + "），请重试");
    };
    x.onerror = function () { finish(job, "", "连接中断，请重试"); };
    x.send(data);
  }

  function next() { while (running < PARALLEL && queue.length) send(queue.shift()); }

  function take(files) {
    for (var i = 0; i < files.length; i++) add(files[i]);
    progress(); next();
  }

  ["dragenter", "dragover"].forEach(function (ev) {
    form.addEventListener(ev, function (e) { e.preventDefault(); form.classList.add("over"); });
  });
  ["dragleave", "drop"].forEach(function (ev) {
    form.addEventListener(ev, function (e) { e.preventDefault(); form.classList.remove("over"); });
  });
  form.addEventListener("drop", function (e) { if (e.dataTransfer && e.dataTransfer.files) take(e.dataTransfer.files); });
  pick.addEventListener("change", function () { take(pick.files); pick.value = ""; });
  form.addEventListener("submit", function (e) { e.preventDefault(); });
  document.getElementById("send-all").hidden = true;  /* with the script, files go as soon as chosen */
})();
