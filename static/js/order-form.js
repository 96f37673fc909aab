// The order form: drag and drop, previews, removing a photo, the server's own limits checked
// before sending, and a real upload progress bar. The server checks everything again.
(function () {
  "use strict";
  var form = document.getElementById("order-form");
  if (!form) { return; }
  var input = form.querySelector('input[type="file"]');
  var dropzone = document.getElementById("dropzone");
  var previews = document.getElementById("previews");
  var countLine = document.getElementById("photo-count");
  var photoErrors = document.getElementById("photo-errors");
  var formErrors = document.getElementById("form-errors");
  var submitErrors = document.getElementById("submit-errors");
  var blocked = form.hasAttribute("data-blocked");  // a quota the server named before any upload
  var progress = document.getElementById("upload-progress");
  var progressBar = document.getElementById("upload-progress-bar");
  var progressText = document.getElementById("upload-progress-text");
  var submit = document.getElementById("order-submit");
  var MB = 1024 * 1024;
  var limits = {
    min: parseInt(form.dataset.photosMin, 10),
    max: parseInt(form.dataset.photosMax, 10),
    each: parseInt(form.dataset.photoMaxMb, 10) * MB,
    total: parseInt(form.dataset.totalMaxMb, 10) * MB
  };
  var ACCEPTED = /^(image\/(jpeg|png|webp|heic|heif))$/;
  var ACCEPTED_NAME = /\.(jpe?g|png|webp|heic|heif)$/i;
  var lang = document.documentElement.lang === "en" ? "en" : "es";
  var TEXT = {
    es: {
      type: "no es una foto JPEG, PNG, HEIC o WebP.",
      big: "pesa más de " + (limits.each / MB) + " MB.",
      remove: "Quitar",
      count: function (n) { return n + (n === 1 ? " foto elegida" : " fotos elegidas") + " (de " + limits.min + " a " + limits.max + ")."; },
      tooFew: "Añade al menos " + limits.min + " fotos.",
      tooMany: "Como mucho " + limits.max + " fotos: quita alguna.",
      tooHeavy: "Las fotos suman más de " + (limits.total / MB) + " MB.",
      sending: function (p) { return "Enviando tus fotos… " + p + " %"; },
      checking: "Revisando y preparando tus fotos…",
      failed: "No se pudo enviar. Revisa tu conexión y vuelve a intentarlo.",
      refused: function (n) { return n === 1 ? "Hemos rechazado 1 foto: el motivo está junto a ella. Quítala, cámbiala o sigue sin ella." : "Hemos rechazado " + n + " fotos: el motivo está junto a cada una. Quítalas, cámbialas o sigue sin ellas."; },
      goOn: function (n) { return "Seguir con las " + n + " fotos aceptadas"; }
    },
    en: {
      type: "is not a JPEG, PNG, HEIC or WebP photo.",
      big: "is larger than " + (limits.each / MB) + " MB.",
      remove: "Remove",
      count: function (n) { return n + (n === 1 ? " photo chosen" : " photos chosen") + " (" + limits.min + " to " + limits.max + ")."; },
      tooFew: "Add at least " + limits.min + " photos.",
      tooMany: "At most " + limits.max + " photos: remove some.",
      tooHeavy: "The photos add up to more than " + (limits.total / MB) + " MB.",
      sending: function (p) { return "Sending your photos… " + p + " %"; },
      checking: "Checking and preparing your photos…",
      failed: "Sending failed. Check your connection and try again.",
      refused: function (n) { return n === 1 ? "We refused 1 photo: the reason is by it. Remove it, replace it, or go on without it." : "We refused " + n + " photos: the reason is by each one. Remove them, replace them, or go on without them."; },
      goOn: function (n) { return "Continue with the " + n + " accepted photos"; }
    }
  }[lang];
  var selected = [];  // {file, problem, item}

  function add(files) {
    Array.prototype.forEach.call(files, function (file) {
      var known = selected.some(function (s) { return s.file.name === file.name && s.file.size === file.size; });
      if (known) { return; }
      var entry = { file: file, problem: clientProblem(file) };
      entry.item = previewItem(entry);
      selected.push(entry);
      previews.appendChild(entry.item);
    });
    refresh();
  }

  function clientProblem(file) {
    if (!ACCEPTED.test(file.type) && !ACCEPTED_NAME.test(file.name)) { return file.name + " " + TEXT.type; }
    if (file.size > limits.each) { return file.name + " " + TEXT.big; }
    return "";
  }

  function previewItem(entry) {
    var item = document.createElement("li");
    item.className = "preview" + (entry.problem ? " refused" : "");
    item.dataset.name = entry.file.name;
    var img = document.createElement("img");
    img.alt = entry.file.name;
    img.src = URL.createObjectURL(entry.file);
    img.addEventListener("error", function () { img.replaceWith(placeholder(entry.file.name)); });
    var caption = document.createElement("span");
    caption.className = "preview-name";
    caption.textContent = entry.file.name;
    var message = document.createElement("span");
    message.className = "preview-message";
    message.textContent = entry.problem;
    var remove = document.createElement("button");
    remove.type = "button";
    remove.className = "small remove";
    remove.textContent = TEXT.remove;
    remove.addEventListener("click", function () {
      selected = selected.filter(function (s) { return s !== entry; });
      URL.revokeObjectURL(img.src);
      item.remove();
      refresh();
    });
    item.append(img, caption, message, remove);
    return item;
  }

  function placeholder(name) {
    var box = document.createElement("span");
    box.className = "preview-placeholder";
    box.textContent = name.split(".").pop().toUpperCase();
    return box;
  }

  function setProblem(entry, text) {
    entry.problem = text;
    entry.item.classList.toggle("refused", Boolean(text));
    entry.item.querySelector(".preview-message").textContent = text;
  }

  function setProblems() {
    var total = selected.reduce(function (sum, s) { return sum + s.file.size; }, 0);
    var problems = [];
    if (selected.length && selected.length < limits.min) { problems.push(TEXT.tooFew); }
    if (selected.length > limits.max) { problems.push(TEXT.tooMany); }
    if (total > limits.total) { problems.push(TEXT.tooHeavy); }
    return problems;
  }

  function refresh() {
    countLine.textContent = selected.length ? TEXT.count(selected.length) : "";
    var problems = setProblems();
    showList(photoErrors, problems);
    submit.disabled = blocked || problems.length > 0 || selected.length === 0 || selected.some(function (s) { return s.problem; });
  }

  function showList(list, messages) {
    list.textContent = "";
    messages.forEach(function (text) {
      var li = document.createElement("li");
      li.className = "message error";
      li.textContent = text;
      list.appendChild(li);
    });
  }

  function showServerErrors(data) {
    var errors = (data && data.errors) || {};
    form.querySelectorAll(".errorlist.from-server").forEach(function (node) { node.remove(); });
    var general = (errors.__all__ || []).map(function (e) { return e.message || e; });
    ["name", "subject_type", "consent"].forEach(function (field) {
      if (!errors[field]) { return; }
      var anchor = form.querySelector('[name="' + field + '"]').closest(".field");
      var list = document.createElement("ul");
      list.className = "errorlist from-server";
      errors[field].forEach(function (e) { var li = document.createElement("li"); li.textContent = e.message; list.appendChild(li); general.push(e.message); });
      anchor.appendChild(list);
    });
    var byName = {};
    (data.photos || []).forEach(function (p) { byName[p.name] = p.message; });
    var refused = selected.filter(function (s) { return byName[s.file.name]; });
    refused.forEach(function (s) { setProblem(s, byName[s.file.name]); });
    var photoGeneral = (errors.photos || []).map(function (e) { return e.message; }).filter(function (m) {
      return !Object.keys(byName).some(function (n) { return byName[n] === m; });
    });
    showList(photoErrors, photoGeneral);
    var summary = general.concat(photoGeneral);
    if (refused.length) { summary.push(TEXT.refused(refused.length)); }
    [formErrors, submitErrors].forEach(function (box) {
      box.textContent = "";
      summary.forEach(function (text) { box.appendChild(paragraph(text)); });
    });
    var goOn = data.held ? offerToGoOn(data.held, refused) : null;
    submit.disabled = selected.some(function (s) { return s.problem; });
    // The eye is on the submit button: keep the summary and the way on in view there.
    (goOn || form.querySelector(".errorlist.from-server") || submitErrors).scrollIntoView({ block: "center" });
  }

  // The server kept the accepted photos: one click orders with them, nothing is sent again.
  function offerToGoOn(held, refused) {
    var button = document.createElement("button");
    button.type = "button";
    button.id = "order-continue";
    button.className = "secondary";
    button.textContent = TEXT.goOn(held.count);
    button.addEventListener("click", function () {
      refused.forEach(function (s) { selected = selected.filter(function (t) { return t !== s; }); s.item.remove(); });
      refresh();
      button.remove();
      send(null, held.token);
    });
    submit.insertAdjacentElement("afterend", button);
    return button;
  }

  function showFailure() {
    [formErrors, submitErrors].forEach(function (box) { box.textContent = ""; box.appendChild(paragraph(TEXT.failed)); });
    submitErrors.scrollIntoView({ block: "center" });
  }

  function paragraph(text) {
    var p = document.createElement("p");
    p.className = "message error";
    p.textContent = text;
    return p;
  }

  function send(event, heldToken) {
    if (event) { event.preventDefault(); }
    var existing = document.getElementById("order-continue");
    if (event && event.submitter && event.submitter === existing) { heldToken = existing.value; }
    if (existing) { existing.remove(); }
    var data = new FormData();
    form.querySelectorAll("input[name], select[name], textarea[name]").forEach(function (field) {
      if (field.type === "file" || ((field.type === "radio" || field.type === "checkbox") && !field.checked)) { return; }
      data.append(field.name, field.value);
    });
    if (heldToken) {
      data.append("held", heldToken);
    } else {
      selected.forEach(function (s) { data.append("photos", s.file, s.file.name); });
    }
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action || window.location.href);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("X-CSRFToken", form.querySelector('[name="csrfmiddlewaretoken"]').value);
    xhr.upload.addEventListener("progress", function (e) {
      if (!e.lengthComputable) { return; }
      var percent = Math.round((e.loaded / e.total) * 100);
      progressBar.style.width = percent + "%";
      progressText.textContent = percent < 100 ? TEXT.sending(percent) : TEXT.checking;
    });
    xhr.addEventListener("load", function () {
      var body = null;
      try { body = JSON.parse(xhr.responseText); } catch (ignored) { body = null; }
      if (xhr.status === 201 && body && body.url) { window.location.assign(body.url); return; }
      progress.hidden = true;
      submit.disabled = false;
      if (body) { showServerErrors(body); } else { showFailure(); }
    });
    xhr.addEventListener("error", function () {
      progress.hidden = true;
      submit.disabled = false;
      showFailure();
    });
    progress.hidden = false;
    progressBar.style.width = "0%";
    progressText.textContent = TEXT.sending(0);
    submit.disabled = true;
    xhr.send(data);
  }

  input.addEventListener("change", function () { add(input.files); input.value = ""; });
  ["dragenter", "dragover"].forEach(function (name) {
    dropzone.addEventListener(name, function (e) { e.preventDefault(); dropzone.classList.add("over"); });
  });
  ["dragleave", "drop"].forEach(function (name) {
    dropzone.addEventListener(name, function (e) { e.preventDefault(); dropzone.classList.remove("over"); });
  });
  dropzone.addEventListener("drop", function (e) { add(e.dataTransfer.files); });
  form.addEventListener("submit", send);
  form.classList.add("enhanced");
  refresh();
})();
