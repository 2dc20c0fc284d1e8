// PDQ in the browser, bit for bit the server's exact mode (safeguard/signals/pdq_kernel.py):
// every operation in single precision, in the reference's order. Math.fround after each
// step gives float32 arithmetic exactly: a double holds the exact result of one float32
// operation closely enough that rounding it to float32 is the float32 result.
"use strict";

const f32 = Math.fround;
const SIDE = 64;
const HASH_SIDE = 16;
const SQUASH = 512;
const MIN_SIDE = 5;

const DCT = (() => {
  const matrix = new Float32Array(HASH_SIDE * SIDE);
  const scale = f32(Math.sqrt(2 / SIDE));
  for (let i = 0; i < HASH_SIDE; i++) {
    for (let j = 0; j < SIDE; j++) {
      matrix[i * SIDE + j] = scale * Math.cos((Math.PI / 2 / SIDE) * (i + 1) * (2 * j + 1));
    }
  }
  return matrix;
})();

// Nearest-neighbour squash of a side over 512 to exactly 512: source index floor(i*n/512).
function squashIndices(size) {
  if (size <= SQUASH) return null;
  const picked = new Int32Array(SQUASH);
  for (let i = 0; i < SQUASH; i++) picked[i] = Math.floor((i * size) / SQUASH);
  return picked;
}

// Luminance of an RGBA buffer after the squash; grey pictures (one stored channel) as is.
export function luminance(rgba, width, height, grey) {
  const rowsAt = squashIndices(height);
  const colsAt = squashIndices(width);
  const rows = rowsAt ? SQUASH : height;
  const cols = colsAt ? SQUASH : width;
  const luma = new Float32Array(rows * cols);
  const r = f32(0.299), g = f32(0.587), b = f32(0.114);
  for (let y = 0; y < rows; y++) {
    const sourceRow = rowsAt ? rowsAt[y] : y;
    for (let x = 0; x < cols; x++) {
      const p = 4 * (sourceRow * width + (colsAt ? colsAt[x] : x));
      luma[y * cols + x] = grey
        ? rgba[p]
        : f32(f32(f32(r * rgba[p]) + f32(g * rgba[p + 1])) + f32(b * rgba[p + 2]));
    }
  }
  return { luma, rows, cols };
}

function windowFor(size) {
  return Math.floor((size + 2 * SIDE - 1) / (2 * SIDE));
}

// A running-sum box filter along one line of `length` values, read at source[start + k*step].
function boxLine(source, target, start, step, length, window) {
  const half = Math.floor((window + 2) / 2);
  let sum = 0, count = 0, right = 0, left = 0, out = 0;
  for (let k = 0; k < half - 1; k++) {
    sum = f32(sum + source[start + right * step]);
    count++; right++;
  }
  for (let k = 0; k < window - half + 1; k++) {
    count++;
    sum = f32(sum + source[start + right * step]);
    target[start + out * step] = f32(sum / count);
    right++; out++;
  }
  for (let k = 0; k < length - window; k++) {
    sum = f32(sum + source[start + right * step]);
    sum = f32(sum - source[start + left * step]);
    target[start + out * step] = f32(sum / count);
    left++; right++; out++;
  }
  for (let k = 0; k < half - 1; k++) {
    count--;
    sum = f32(sum - source[start + left * step]);
    target[start + out * step] = f32(sum / count);
    left++; out++;
  }
}

function tentFilter(luma, rows, cols) {
  const scratch = new Float32Array(luma.length);
  const alongRows = windowFor(cols), downColumns = windowFor(rows);
  for (let round = 0; round < 2; round++) {
    for (let y = 0; y < rows; y++) boxLine(luma, scratch, y * cols, 1, cols, alongRows);
    for (let x = 0; x < cols; x++) boxLine(scratch, luma, x, cols, rows, downColumns);
  }
}

function decimate(luma, rows, cols) {
  if (rows === SIDE && cols === SIDE) return luma;  // already the 64x64: not filtered
  tentFilter(luma, rows, cols);
  const block = new Float32Array(SIDE * SIDE);
  for (let i = 0; i < SIDE; i++) {
    const y = Math.floor(((i + 0.5) * rows) / SIDE);
    for (let j = 0; j < SIDE; j++) {
      block[i * SIDE + j] = luma[y * cols + Math.floor(((j + 0.5) * cols) / SIDE)];
    }
  }
  return block;
}

function quality(block) {
  let total = 0;
  const step = (a, b) => Math.abs(Math.trunc(f32(f32(f32(a - b) * 100) / 255)));
  for (let i = 0; i < SIDE - 1; i++) {
    for (let j = 0; j < SIDE; j++) total += step(block[i * SIDE + j], block[(i + 1) * SIDE + j]);
  }
  for (let i = 0; i < SIDE; i++) {
    for (let j = 0; j < SIDE - 1; j++) total += step(block[i * SIDE + j], block[i * SIDE + j + 1]);
  }
  return Math.min(Math.floor(total / 90), 100);
}

function dct16(block) {
  const partial = new Float32Array(HASH_SIDE * SIDE);
  for (let i = 0; i < HASH_SIDE; i++) {
    for (let k = 0; k < SIDE; k++) {
      const weight = DCT[i * SIDE + k];
      for (let j = 0; j < SIDE; j++) {
        partial[i * SIDE + j] = f32(partial[i * SIDE + j] + f32(weight * block[k * SIDE + j]));
      }
    }
  }
  const coefficients = new Float32Array(HASH_SIDE * HASH_SIDE);
  for (let i = 0; i < HASH_SIDE; i++) {
    for (let j = 0; j < HASH_SIDE; j++) {
      let total = 0;
      for (let k = 0; k < SIDE; k++) {
        total = f32(total + f32(partial[i * SIDE + k] * DCT[j * SIDE + k]));
      }
      coefficients[i * HASH_SIDE + j] = total;
    }
  }
  return coefficients;
}

// The hash as hex (coefficient 255 first, as the reference writes it) and its quality.
export function pdqFromLuminance({ luma, rows, cols }) {
  if (rows < MIN_SIDE || cols < MIN_SIDE) return { hex: "0".repeat(64), quality: 0 };
  const block = decimate(luma, rows, cols);
  const coefficients = dct16(block);
  const median = Float32Array.from(coefficients).sort()[127];  // the lower median of 256
  let hex = "";
  for (let byte = 0; byte < 32; byte++) {
    let value = 0;
    for (let bit = 0; bit < 8; bit++) {
      value = (value << 1) | (coefficients[255 - (byte * 8 + bit)] > median ? 1 : 0);
    }
    hex += value.toString(16).padStart(2, "0");
  }
  return { hex, quality: quality(block) };
}
