// Signature pad for the work acknowledgement (service link). Without this script, or for
// keyboard and screen-reader users, the typed name is the signature: nothing here is needed.
(function () {
  "use strict";
  var form = document.getElementById("sign-form");
  var canvas = document.getElementById("signature-canvas");
  if (!form || !canvas || !canvas.getContext) { return; }
  var pad = document.getElementById("signature-pad");
  var data = document.getElementById("signature-data");
  var drawn = document.getElementById("method-drawn");
  var typed = document.getElementById("method-typed");
  var ctx = canvas.getContext("2d");
  var inked = false;
  var drawing = false;
  var last = null;

  pad.hidden = false;
  ctx.lineWidth = 3;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  ctx.strokeStyle = "#111";

  function point(event) {
    var box = canvas.getBoundingClientRect();
    return {
      x: (event.clientX - box.left) * (canvas.width / box.width),
      y: (event.clientY - box.top) * (canvas.height / box.height)
    };
  }
  canvas.addEventListener("pointerdown", function (event) {
    event.preventDefault();
    drawing = true;
    last = point(event);
    if (canvas.setPointerCapture) { canvas.setPointerCapture(event.pointerId); }
    drawn.checked = true;
  });
  canvas.addEventListener("pointermove", function (event) {
    if (!drawing) { return; }
    var p = point(event);
    ctx.beginPath();
    ctx.moveTo(last.x, last.y);
    ctx.lineTo(p.x, p.y);
    ctx.stroke();
    last = p;
    inked = true;
  });
  function stop() { drawing = false; }
  canvas.addEventListener("pointerup", stop);
  canvas.addEventListener("pointercancel", stop);
  document.getElementById("signature-clear").addEventListener("click", function () {
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    inked = false;
    data.value = "";
  });
  form.addEventListener("submit", function () {
    data.value = drawn.checked && inked ? canvas.toDataURL("image/png") : "";
    if (typed.checked) { data.value = ""; }
  });
})();
