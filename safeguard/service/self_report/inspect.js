// What a picture file is, read from its first bytes: its format, whether it is stored
// greyscale (the reference hashes grey pixels as they are), its EXIF orientation (which
// browsers apply and the reference ignores), and anything that makes an in-browser hash
// approximate rather than the server's to the bit.
"use strict";

const SOF_MARKERS = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);

export function inspect(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length > 3 && bytes[0] === 0xff && bytes[1] === 0xd8) return inspectJpeg(view);
  if (bytes.length > 26 && view.getUint32(0) === 0x89504e47) return inspectPng(view);
  if (bytes.length > 30 && text(bytes, 0, 4) === "RIFF" && text(bytes, 8, 4) === "WEBP") {
    return inspectWebp(bytes, view);
  }
  return { format: "other", orientation: 1, grey: false, approximate: "not a JPEG, PNG or WebP" };
}

function text(bytes, at, length) {
  return String.fromCharCode(...bytes.subarray(at, at + length));
}

function inspectJpeg(view) {
  const found = { format: "jpeg", orientation: 1, grey: false, approximate: null };
  let at = 2;
  while (at + 4 <= view.byteLength) {
    if (view.getUint8(at) !== 0xff) break;
    const marker = view.getUint8(at + 1);
    if (marker === 0xff) { at += 1; continue; }  // fill bytes
    if (marker === 0xd9 || marker === 0xda) break;  // end of image, start of scan
    const length = view.getUint16(at + 2);
    if (marker === 0xe1 && found.orientation === 1) {
      found.orientation = exifOrientation(view, at + 4, length - 2);
    } else if (SOF_MARKERS.has(marker) && at + 9 < view.byteLength) {
      found.grey = view.getUint8(at + 9) === 1;  // one component: stored greyscale
    }
    at += 2 + length;
  }
  return found;
}

function exifOrientation(view, start, length) {
  if (length < 14 || view.getUint32(start) !== 0x45786966) return 1;  // "Exif"
  return tiffOrientation(view, start + 6);
}

// The Orientation tag of a TIFF-structured EXIF block (1 when absent or unreadable).
function tiffOrientation(view, tiff) {
  if (tiff + 8 > view.byteLength) return 1;
  const little = view.getUint16(tiff) === 0x4949;
  const ifd = tiff + view.getUint32(tiff + 4, little);
  if (ifd + 2 > view.byteLength) return 1;
  const entries = view.getUint16(ifd, little);
  for (let i = 0; i < entries; i++) {
    const entry = ifd + 2 + 12 * i;
    if (entry + 12 > view.byteLength) return 1;
    if (view.getUint16(entry, little) === 0x0112) {
      const value = view.getUint16(entry + 8, little);
      return value >= 1 && value <= 8 ? value : 1;
    }
  }
  return 1;
}

function inspectPng(view) {
  const depth = view.getUint8(24), colourType = view.getUint8(25);
  const found = {
    format: "png",
    orientation: 1,
    // Grey of 2, 4 or 8 bits decodes to the reference's grey pixels; 1-bit is converted.
    grey: colourType === 0 && depth >= 2 && depth <= 8,
    approximate: depth === 16 ? "16-bit PNG: browsers round to 8 bits their own way" : null,
  };
  for (let at = 8; at + 8 <= view.byteLength;) {
    const length = view.getUint32(at), type = view.getUint32(at + 4);
    // eXIf: whether browsers turn a PNG by it was not measured, so a turned one is approximate.
    if (type === 0x65584966 && tiffOrientation(view, at + 8) !== 1) {
      found.approximate = "PNG with an EXIF orientation";
    }
    if (type === 0x49444154) break;  // IDAT: no more header chunks
    at += 12 + length;
  }
  return found;
}

function inspectWebp(bytes, view) {
  const found = { format: "webp", orientation: 1, grey: false, approximate: null };
  for (let at = 12; at + 8 <= view.byteLength;) {
    const length = view.getUint32(at + 4, true);
    if (text(bytes, at, 4) === "EXIF" && tiffOrientation(view, exifStart(bytes, at + 8)) !== 1) {
      found.approximate = "WebP with an EXIF orientation";  // as for PNG: not measured
    }
    at += 8 + length + (length % 2);
  }
  return found;
}

function exifStart(bytes, at) {
  return text(bytes, at, 4) === "Exif" ? at + 6 : at;  // some writers keep the JPEG prefix
}
