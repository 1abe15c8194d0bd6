// Demo phone: record a message with the microphone (MediaRecorder) and put it in the
// form's file input, so the plain form POST (which also works without JavaScript) sends it.
(function () {
  "use strict";
  // The file input in French whatever the browser's language: the browser draws its
  // button ("Choose File") in its own language, so the input is drawn transparent over a
  // French button and a French file name line. It stays the real, focusable input.
  document.addEventListener("DOMContentLoaded", function () {
    var choice = document.querySelector(".file-choice");
    if (!choice) { return; }
    var input = choice.querySelector("input[type=file]");
    var button = choice.querySelector(".file-button");
    var name = choice.querySelector(".file-name");
    var none = name.textContent;
    choice.classList.add("enhanced");
    button.hidden = false;
    name.hidden = false;
    function show() {
      name.textContent = input.files && input.files.length ? input.files[0].name : none;
    }
    input.addEventListener("change", show);
    input.addEventListener("relais:filled", show);
  });

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("demo-phone");
    if (!form || !window.MediaRecorder || !navigator.mediaDevices || !window.DataTransfer) {
      return;
    }
    var panel = form.querySelector(".recorder");
    var start = document.getElementById("record-start");
    var stop = document.getElementById("record-stop");
    var state = document.getElementById("record-state");
    var preview = document.getElementById("record-preview");
    var input = form.querySelector("input[type=file][name=audio]");
    var recorder = null;
    var chunks = [];
    panel.hidden = false;

    start.addEventListener("click", function () {
      navigator.mediaDevices.getUserMedia({ audio: true }).then(function (stream) {
        chunks = [];
        recorder = new MediaRecorder(stream);
        recorder.addEventListener("dataavailable", function (event) {
          if (event.data.size) { chunks.push(event.data); }
        });
        recorder.addEventListener("stop", function () {
          stream.getTracks().forEach(function (track) { track.stop(); });
          var type = recorder.mimeType || "audio/webm";
          var ext = type.indexOf("ogg") >= 0 ? "ogg" : (type.indexOf("mp4") >= 0 ? "m4a" : "webm");
          var blob = new Blob(chunks, { type: type });
          var file = new File([blob], "message-micro." + ext, { type: type.split(";")[0] });
          var transfer = new DataTransfer();
          transfer.items.add(file);
          input.files = transfer.files;
          input.dispatchEvent(new Event("relais:filled"));
          preview.src = URL.createObjectURL(blob);
          preview.hidden = false;
          state.textContent = "Message enregistré (" + Math.round(blob.size / 1024) + " Ko).";
          start.disabled = false;
          stop.disabled = true;
        });
        recorder.start();
        state.textContent = "Enregistrement… parlez puis cliquez sur Arrêter.";
        start.disabled = true;
        stop.disabled = false;
      }).catch(function (error) {
        state.textContent = "Micro indisponible : " + error.message + ". Choisissez un fichier.";
      });
    });

    stop.addEventListener("click", function () {
      if (recorder && recorder.state !== "inactive") { recorder.stop(); }
    });
  });
})();
