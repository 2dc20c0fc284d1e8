// The self-report page: every file is hashed here, on the device; only the hashes, an
// optional age band and country, and a proof of work go to the API.
"use strict";

import { fileDigests, Sha256 } from "./digests.js";
import { pictureHash, selfTest } from "./imagehash.js";

const $ = (id) => document.getElementById(id);
const chosen = [];  // {file, hashes, item}
let config = { api: "", help: [], countries: [] };
let canvasFaithful = false;

function say(id, text, problem = false) {
  $(id).textContent = text;
  $(id).classList.toggle("problem", problem);
}

async function start() {
  config = await (await fetch("config.json", { cache: "no-store" })).json();
  for (const line of config.help) {
    const item = document.createElement("li");
    const link = document.createElement("a");
    link.href = line.url;
    link.textContent = line.name;
    link.rel = "noopener noreferrer";
    item.append(link, ` ${line.how}`);
    $("help").append(item);
  }
  for (const [code, name] of config.countries) $("country").append(new Option(name, code));
  try {
    canvasFaithful = (await selfTest()).faithful;
  } catch {
    canvasFaithful = false;
  }
  say("selftest", canvasFaithful
    ? "This browser can make fingerprints. Your pictures will not leave it."
    : "This browser changes pictures when this page reads them (a privacy setting can do this), " +
      "so its fingerprints would be wrong. Please try another browser, such as Chrome or Firefox " +
      "with its normal settings.", !canvasFaithful);
  $("files").disabled = !canvasFaithful;
  $("files").addEventListener("change", () => addFiles($("files").files));
  $("send").addEventListener("click", send);
  $("check").addEventListener("click", () => receipt("GET"));
  $("withdraw").addEventListener("click", () => receipt("DELETE"));
}

async function addFiles(files) {
  for (const file of files) {
    const item = document.createElement("li");
    const preview = file.type.startsWith("video/")
      ? Object.assign(document.createElement("video"), { muted: true, preload: "metadata" })
      : Object.assign(document.createElement("img"), { alt: "" });
    preview.src = URL.createObjectURL(file);  // shown from memory on this device only
    const label = document.createElement("span");
    label.textContent = "Making its fingerprint\u2026";
    item.append(preview, label);
    $("chosen").append(item);
    const entry = { file, hashes: null };
    chosen.push(entry);
    try {
      entry.hashes = await fingerprints(file);
      label.textContent = entry.hashes.pdq || file.type.startsWith("video/")
        ? "Fingerprint ready."
        : "Fingerprint ready (only exact copies can be found for this kind of file).";
    } catch {
      label.textContent = "This file could not be read. It will not be sent.";
      label.classList.add("problem");
    }
    $("send").disabled = !chosen.some((c) => c.hashes);
  }
}

async function fingerprints(file) {
  const hashes = await fileDigests(file);
  if (!file.type.startsWith("video/")) {
    const picture = await pictureHash(file);
    if (picture) Object.assign(hashes, { pdq: picture.hex, pdq_quality: picture.quality, path: picture.path });
  }
  return hashes;
}

// A few hundred milliseconds of hashing that a script sending thousands of reports pays
// thousands of times.
function solve(challenge, bits) {
  const zeros = Math.floor(bits / 4), limit = 16 >> (bits % 4);
  for (let nonce = 0; ; nonce++) {
    const hash = new Sha256();
    hash.update(new TextEncoder().encode(`${challenge}:${nonce}`));
    const hex = hash.finish();
    if (hex.startsWith("0".repeat(zeros)) && parseInt(hex[zeros], 16) < limit) return nonce;
  }
}

async function send() {
  const files = chosen.filter((c) => c.hashes).map((c) => c.hashes);
  $("send").disabled = true;
  say("progress", "Sending the fingerprints\u2026");
  try {
    const puzzle = await (await fetch(`${config.api}/v1/self-reports/challenge`, { cache: "no-store" })).json();
    const body = {
      challenge: puzzle.challenge,
      nonce: solve(puzzle.challenge, puzzle.bits),
      files,
      age_band: $("age").value || null,
      country: $("country").value || null,
    };
    const answer = await fetch(`${config.api}/v1/self-reports`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      credentials: "omit",
      referrerPolicy: "no-referrer",
    });
    const result = await answer.json();
    if (!answer.ok) throw new Error(typeof result.detail === "string" ? result.detail : "refused");
    $("receipt").textContent = result.receipt;
    $("code").value = result.receipt;
    $("outcome").textContent = outcome(result);
    $("done").hidden = false;
    $("done-heading").focus();
    say("progress", "");
  } catch (error) {
    say("progress", `That did not work (${error.message}). Nothing was sent. Please try again in a minute.`, true);
    $("send").disabled = false;
  }
}

function outcome(result) {
  const parts = [`${result.added} fingerprint${result.added === 1 ? "" : "s"} added.`];
  if (result.widely_shared) {
    parts.push(`${result.widely_shared} file${result.widely_shared === 1 ? " looks" : "s look"} like ` +
      "a widely shared picture (not a personal one), so it was not added.");
  }
  parts.push("Websites that check against this list will now look at matching uploads.");
  return parts.join(" ");
}

async function receipt(method) {
  const code = $("code").value.trim();
  if (!code) return say("status", "Type your receipt code first.", true);
  let answer;
  try {
    answer = await fetch(`${config.api}/v1/self-reports/${encodeURIComponent(code)}`, {
      method, credentials: "omit", cache: "no-store",
    });
  } catch {
    return say("status", "That did not work: check your connection and try again.", true);
  }
  if (answer.status === 429) return say("status", "Too many tries: please wait a few minutes.", true);
  if (answer.status === 404 || answer.status === 422) return say("status", "No report has that receipt code. Check it and try again.", true);
  const report = await answer.json();
  say("status", report.state === "withdrawn"
    ? "This report has been taken back. Its fingerprints are no longer checked."
    : `This report is active: ${report.files} fingerprint${report.files === 1 ? " is" : "s are"} being checked.`);
}

start();
