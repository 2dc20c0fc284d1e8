// A picture file's PDQ hash computed on the device, by the recipe measured to equal the
// server's exact mode (docs: "Self-report page"): decode without colour management or
// premultiplied alpha, read the pixels back from a CPU canvas, undo the EXIF orientation
// the browser applied, drop alpha, squash and hash in single precision here.
"use strict";

import { inspect } from "./inspect.js";
import { luminance, pdqFromLuminance } from "./pdq.js";

const DECODE = { colorSpaceConversion: "none", premultiplyAlpha: "none" };

async function decode(blob) {
  const bitmap = await createImageBitmap(blob, DECODE);
  try {
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const context = canvas.getContext("2d", { colorSpace: "srgb", willReadFrequently: true });
    context.drawImage(bitmap, 0, 0);
    let rgba = context.getImageData(0, 0, bitmap.width, bitmap.height, { colorSpace: "srgb" }).data;
    let through = "canvas";
    if (translucent(rgba)) {
      // A 2D canvas keeps premultiplied colour, which loses the colour under transparent
      // pixels that the reference keeps; WebGL can hand it back unpremultiplied.
      const unpremultiplied = readThroughWebGL(bitmap);
      if (unpremultiplied) [rgba, through] = [unpremultiplied, "webgl"];
    }
    return { rgba, width: bitmap.width, height: bitmap.height, through };
  } finally {
    bitmap.close();
  }
}

function readThroughWebGL(bitmap) {
  try {
    const gl = new OffscreenCanvas(1, 1).getContext("webgl2", { premultipliedAlpha: false });
    if (!gl) return null;
    const { width, height } = bitmap;
    gl.bindTexture(gl.TEXTURE_2D, gl.createTexture());
    gl.pixelStorei(gl.UNPACK_COLORSPACE_CONVERSION_WEBGL, gl.NONE);
    gl.pixelStorei(gl.UNPACK_PREMULTIPLY_ALPHA_WEBGL, false);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, width, height, 0, gl.RGBA, gl.UNSIGNED_BYTE, bitmap);
    gl.bindFramebuffer(gl.FRAMEBUFFER, gl.createFramebuffer());
    gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D,
      gl.getParameter(gl.TEXTURE_BINDING_2D), 0);
    const rgba = new Uint8ClampedArray(width * height * 4);
    gl.readPixels(0, 0, width, height, gl.RGBA, gl.UNSIGNED_BYTE, rgba);
    return gl.getError() === gl.NO_ERROR ? rgba : null;
  } catch {
    return null;
  }
}

// The stored (unrotated) pixels from the displayed ones, for EXIF orientation 2-8.
export function unorient({ rgba, width, height }, orientation) {
  if (orientation === 1) return { rgba, width, height };
  const swapped = orientation >= 5;
  const storedWidth = swapped ? height : width, storedHeight = swapped ? width : height;
  const stored = new Uint8ClampedArray(rgba.length);
  const W = storedWidth, H = storedHeight;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let sx, sy;  // the stored pixel shown at displayed (x, y)
      switch (orientation) {
        case 2: sx = W - 1 - x; sy = y; break;
        case 3: sx = W - 1 - x; sy = H - 1 - y; break;
        case 4: sx = x; sy = H - 1 - y; break;
        case 5: sx = y; sy = x; break;
        case 6: sx = y; sy = H - 1 - x; break;
        case 7: sx = W - 1 - y; sy = H - 1 - x; break;
        default: sx = W - 1 - y; sy = x; break;  // 8
      }
      const from = 4 * (y * width + x), to = 4 * (sy * W + sx);
      stored[to] = rgba[from];
      stored[to + 1] = rgba[from + 1];
      stored[to + 2] = rgba[from + 2];
      stored[to + 3] = rgba[from + 3];
    }
  }
  return { rgba: stored, width: W, height: H };
}

function translucent(rgba) {
  for (let i = 3; i < rgba.length; i += 4) if (rgba[i] !== 255) return true;
  return false;
}

// How this browser decodes, learnt once from two built-in pictures: whether its canvas
// gives back true pixels (anti-fingerprinting noise does not) and whether it applies
// EXIF orientation. Hashes are never sent when the canvas lies.
const SELF_TEST_PNG = "iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAAM0lEQVR4nGNkYGBQYMaCWBgVGBiZWTARXIIDDSFL8CAjNAkBOMKUEIEgrBISjMwSuCRkAOj/BO6TZtgkAAAAAElFTkSuQmCC";
// 16x8, left half black, right half white, tagged "rotate 90 degrees to display".
const SELF_TEST_JPEG = "/9j/4AAQSkZJRgABAQAAAQABAAD/4QAiRXhpZgAATU0AKgAAAAgAAQESAAMAAAABAAYAAAAAAAD/2wBDAAIBAQEBAQIBAQECAgICAgQDAgICAgUEBAMEBgUGBgYFBgYGBwkIBgcJBwYGCAsICQoKCgoKBggLDAsKDAkKCgr/2wBDAQICAgICAgUDAwUKBwYHCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgr/wAARCAAIABADASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwD+f+v7/KKKAP/Z";

function fromBase64(text) {
  return new Blob([Uint8Array.from(atob(text), (c) => c.charCodeAt(0))]);
}

let calibration = null;

export async function selfTest() {
  if (calibration) return calibration;
  const png = await decode(fromBase64(SELF_TEST_PNG));
  let faithful = png.width === 8 && png.height === 8;
  for (let y = 0; faithful && y < 8; y++) {
    for (let x = 0; x < 8; x++) {
      const p = 4 * (y * 8 + x);
      const expected = [(x * 32 + y) % 256, (y * 32 + x * 3) % 256, (x * y * 4) % 256, 255];
      if (expected.some((value, c) => png.rgba[p + c] !== value)) { faithful = false; break; }
    }
  }
  const jpeg = await decode(fromBase64(SELF_TEST_JPEG));
  const appliesOrientation = jpeg.width === 8 && jpeg.height === 16;
  const stored = unorient(jpeg, appliesOrientation ? 6 : 1);
  const left = stored.rgba[4 * (4 * 16 + 2)], right = stored.rgba[4 * (4 * 16 + 13)];
  const orientationKnown = stored.width === 16 && left < 64 && right > 192;
  calibration = { faithful, appliesOrientation, orientationKnown };
  return calibration;
}

// PDQ of a picture file: {hex, quality, path: "exact" | "approximate", why}; null when the
// browser cannot decode it.
export async function pictureHash(blob) {
  const calibrated = await selfTest();
  if (!calibrated.faithful) throw new Error("this browser alters pictures read back from a canvas");
  const head = new Uint8Array(await blob.slice(0, 1 << 16).arrayBuffer());
  const found = inspect(head);
  let decoded;
  try {
    decoded = await decode(blob);
  } catch {
    return null;
  }
  let why = found.approximate;
  const { through } = decoded;
  if (calibrated.appliesOrientation && found.orientation !== 1) {
    if (calibrated.orientationKnown) decoded = unorient(decoded, found.orientation);
    else why = why || "this browser's handling of EXIF orientation is unknown";
  }
  if (!why && through === "webgl") why = "transparent pixels, read through WebGL";
  if (!why && translucent(decoded.rgba)) why = "transparent pixels: a canvas alters their colour";
  const hash = pdqFromLuminance(luminance(decoded.rgba, decoded.width, decoded.height, found.grey));
  return { ...hash, path: why ? "approximate" : "exact", why };
}
