// MD5 (RFC 1321) and SHA-256 (FIPS 180-4) of a file's bytes, fed chunk by chunk so a
// video of any size is hashed in constant memory. Written here: Web Crypto has no MD5,
// and no incremental SHA-256.
"use strict";

class BlockHash {
  constructor(littleEndian) {
    this.buffer = new Uint8Array(64);
    this.view = new DataView(this.buffer.buffer);
    this.filled = 0;
    this.length = 0;  // bytes, as a Number: exact past 2**53 bytes, far beyond any file
    this.littleEndian = littleEndian;
  }

  update(bytes) {
    let at = 0;
    this.length += bytes.length;
    while (at < bytes.length) {
      const taken = Math.min(64 - this.filled, bytes.length - at);
      this.buffer.set(bytes.subarray(at, at + taken), this.filled);
      this.filled += taken;
      at += taken;
      if (this.filled === 64) {
        this.block(this.view);
        this.filled = 0;
      }
    }
  }

  finish() {
    const bits = this.length * 8;
    const padding = new Uint8Array(((this.filled < 56 ? 56 : 120) - this.filled) + 8);
    padding[0] = 0x80;
    const tail = new DataView(padding.buffer, padding.length - 8);
    const high = Math.floor(bits / 2 ** 32), low = bits >>> 0;
    if (this.littleEndian) {
      tail.setUint32(0, low, true);
      tail.setUint32(4, high, true);
    } else {
      tail.setUint32(0, high);
      tail.setUint32(4, low);
    }
    this.length -= padding.length;  // the padding is not part of the message length
    this.update(padding);
    return this.digestHex();
  }
}

const MD5_SHIFTS = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];
const MD5_SINES = Array.from({ length: 64 }, (_, i) => Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) >>> 0);

export class Md5 extends BlockHash {
  constructor() {
    super(true);
    this.state = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];
  }

  block(view) {
    let [a, b, c, d] = this.state;
    for (let i = 0; i < 64; i++) {
      let f, g;
      if (i < 16) { f = (b & c) | (~b & d); g = i; }
      else if (i < 32) { f = (d & b) | (~d & c); g = (5 * i + 1) % 16; }
      else if (i < 48) { f = b ^ c ^ d; g = (3 * i + 5) % 16; }
      else { f = c ^ (b | ~d); g = (7 * i) % 16; }
      const sum = (a + f + MD5_SINES[i] + view.getUint32(4 * g, true)) | 0;
      const shift = MD5_SHIFTS[(i >> 4) * 4 + (i % 4)];
      a = d; d = c; c = b;
      b = (b + ((sum << shift) | (sum >>> (32 - shift)))) | 0;
    }
    this.state = this.state.map((value, i) => (value + [a, b, c, d][i]) | 0);
  }

  digestHex() {
    const out = new DataView(new ArrayBuffer(16));
    this.state.forEach((value, i) => out.setUint32(4 * i, value, true));
    return hex(new Uint8Array(out.buffer));
  }
}

const SHA256_ROUNDS = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

export class Sha256 extends BlockHash {
  constructor() {
    super(false);
    this.state = new Uint32Array([
      0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
    ]);
    this.words = new Uint32Array(64);
  }

  block(view) {
    const w = this.words;
    const rotr = (x, n) => (x >>> n) | (x << (32 - n));
    for (let i = 0; i < 16; i++) w[i] = view.getUint32(4 * i);
    for (let i = 16; i < 64; i++) {
      const s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >>> 3);
      const s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
    }
    let [a, b, c, d, e, f, g, h] = this.state;
    for (let i = 0; i < 64; i++) {
      const t1 = (h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) +
        SHA256_ROUNDS[i] + w[i]) | 0;
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      h = g; g = f; f = e; e = (d + t1) | 0;
      d = c; c = b; b = a; a = (t1 + t2) | 0;
    }
    const s = this.state;
    s[0] += a; s[1] += b; s[2] += c; s[3] += d; s[4] += e; s[5] += f; s[6] += g; s[7] += h;
  }

  digestHex() {
    const out = new DataView(new ArrayBuffer(32));
    this.state.forEach((value, i) => out.setUint32(4 * i, value));
    return hex(new Uint8Array(out.buffer));
  }
}

export function hex(bytes) {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

// Both digests of a File or Blob, read a slice at a time.
export async function fileDigests(blob, sliceBytes = 4 << 20) {
  const md5 = new Md5(), sha256 = new Sha256();
  for (let at = 0; at < blob.size; at += sliceBytes) {
    const bytes = new Uint8Array(await blob.slice(at, at + sliceBytes).arrayBuffer());
    md5.update(bytes);
    sha256.update(bytes);
  }
  return { md5: md5.finish(), sha256: sha256.finish() };
}
