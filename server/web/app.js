// faceserve's page: one photo through POST /v1/analyze (the image as the
// body, options as query parameters), every face drawn on a canvas with its
// box, landmarks and labels, and listed in the table. Names and metadata from
// the server are only ever set as text (textContent, fillText), never as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
const BOX_COLOR = "#00c853";       // the tests read this colour back from the canvas
const POINT_COLOR = "#ffd600";

function headers(extra) {
  const h = Object.assign({}, extra);
  const key = $("api-key").value.trim();
  if (key) h["Authorization"] = "Bearer " + key;
  return h;
}

function setStatus(text, isError) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "";
}

async function loadGalleries() {
  try {
    const res = await fetch("/v1/list_galleries", {
      method: "POST", headers: headers({"Content-Type": "application/json"}), body: "{}"});
    if (!res.ok) return;
    const galleries = (await res.json()).galleries || [];
    const select = $("gallery");
    for (const g of galleries) {
      const option = document.createElement("option");
      option.value = g.name;
      option.textContent = g.name + " (" + (g.face_count || 0) + " faces)";
      select.appendChild(option);
    }
    $("gallery-label").hidden = galleries.length === 0;
  } catch (e) { /* galleries are optional */ }
}

// The value of a predictor head, by head name.
function output(face, name) {
  for (const p of face.predictions || []) {
    for (const o of p.outputs || []) if (o.name === name) return o;
  }
  return null;
}

function describe(face) {
  const age = output(face, "age");
  const gender = output(face, "gender");
  const expression = output(face, "expression");
  const years = age && age.regression ? age.regression.values.find((v) => v.name === "age_years") : null;
  let identity = "";
  if (face.identity) {
    const best = (face.identity.matches || [])[0];
    identity = face.identity.identified && best ? best.subject : "unknown";
  }
  return {
    score: (face.detection_score || 0).toFixed(3),
    age: years ? Math.round(years.value).toString() : "",
    gender: gender && gender.classification ? gender.classification.label : "",
    expression: expression && expression.classification ? expression.classification.label : "",
    identity: identity,
  };
}

function draw(bitmap, answer) {
  const canvas = $("canvas");
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  const ctx = canvas.getContext("2d");
  ctx.drawImage(bitmap, 0, 0);
  $("hint").hidden = true;
  const line = Math.max(2, Math.round(bitmap.width / 400));
  ctx.font = (6 * line + 6) + "px system-ui, sans-serif";
  const rows = $("faces").tBodies[0];
  rows.textContent = "";
  (answer.faces || []).forEach((face, i) => {
    const b = face.box;
    ctx.strokeStyle = BOX_COLOR;
    ctx.lineWidth = line;
    ctx.strokeRect(b.x1, b.y1, b.x2 - b.x1, b.y2 - b.y1);
    ctx.fillStyle = POINT_COLOR;
    const points = (face.landmarks_68 && face.landmarks_68.length) ? face.landmarks_68 : (face.landmarks_5 || []);
    for (const p of points) ctx.fillRect(p.x - line / 2, p.y - line / 2, line, line);
    const d = describe(face);
    const label = [String(i + 1), d.identity, d.gender, d.age, d.expression].filter(Boolean).join(" ");
    ctx.fillStyle = BOX_COLOR;
    const x = Math.max(0, Math.min(b.x1, canvas.width - ctx.measureText(label).width));
    ctx.fillText(label, x, Math.max(b.y1 - 2 * line, 6 * line + 6));

    const row = rows.insertRow();
    row.className = "face";
    row.dataset.x1 = b.x1; row.dataset.y1 = b.y1; row.dataset.x2 = b.x2; row.dataset.y2 = b.y2;
    for (const text of [String(i + 1), d.score, d.age, d.gender, d.expression, d.identity]) {
      row.insertCell().textContent = text;
    }
  });
}

async function analyze(file) {
  setStatus("Analysing " + file.name + " ...");
  document.body.dataset.state = "busy";
  const params = new URLSearchParams();
  const gallery = $("gallery").value;
  if (gallery) params.set("options.identify.gallery", gallery);
  try {
    // Decoded here while the server analyses; the server's verdict on the
    // file comes first (a file the browser cannot decode either is its 400).
    const decoding = createImageBitmap(file, {imageOrientation: "from-image"});
    decoding.catch(() => {});
    const res = await fetch("/v1/analyze?" + params, {
      method: "POST", headers: headers({"Content-Type": file.type || "application/octet-stream"}),
      body: file});
    const answer = await res.json();
    if (!res.ok) {
      const reason = ((answer.details || [])[0] || {}).reason;
      setStatus("Error " + res.status + ": " + (answer.message || "") + (reason ? " [" + reason + "]" : ""), true);
      document.body.dataset.state = "error";
      return;
    }
    draw(await decoding, answer);
    const n = (answer.faces || []).length;
    setStatus(n + (n === 1 ? " face" : " faces") + " in " + file.name);
    document.body.dataset.state = "done";
  } catch (e) {
    setStatus("Error: " + e.message, true);
    document.body.dataset.state = "error";
  }
}

$("photo").addEventListener("change", () => { if ($("photo").files[0]) analyze($("photo").files[0]); });
const drop = $("drop");
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  const file = e.dataTransfer.files[0];
  if (file) analyze(file);
});
$("api-key").addEventListener("change", loadGalleries);
loadGalleries();
