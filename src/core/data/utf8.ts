/**
 * UTF-8 encoding and decoding in plain TypeScript. src/core compiles against lib ES2022
 * only, where TextEncoder/TextDecoder (DOM and Node APIs) are not declared; these do the
 * same job for the small text files of datasets (annotations, class names, MAT strings).
 */

/**
 * Decodes UTF-8 like `new TextDecoder('utf-8').decode(bytes)`: a leading byte-order mark is
 * dropped, and invalid sequences become U+FFFD.
 */
export function decodeUtf8(bytes: Uint8Array): string {
  let i = 0;
  const n = bytes.length;
  if (n >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) i = 3;
  const parts: string[] = [];
  let units: number[] = [];
  const flush = () => {
    parts.push(String.fromCharCode(...units));
    units = [];
  };
  while (i < n) {
    const b0 = bytes[i];
    let cp = 0xfffd;
    let len = 1;
    if (b0 < 0x80) {
      cp = b0;
    } else if (b0 >= 0xc2 && b0 < 0xe0) {
      if (isCont(bytes, i + 1, n)) {
        cp = ((b0 & 0x1f) << 6) | (bytes[i + 1] & 0x3f);
        len = 2;
      }
    } else if (b0 >= 0xe0 && b0 < 0xf0) {
      if (isCont(bytes, i + 1, n) && isCont(bytes, i + 2, n)) {
        const c = ((b0 & 0x0f) << 12) | ((bytes[i + 1] & 0x3f) << 6) | (bytes[i + 2] & 0x3f);
        if (c >= 0x800 && (c < 0xd800 || c > 0xdfff)) {
          cp = c;
          len = 3;
        }
      }
    } else if (b0 >= 0xf0 && b0 < 0xf5) {
      if (isCont(bytes, i + 1, n) && isCont(bytes, i + 2, n) && isCont(bytes, i + 3, n)) {
        const c =
          ((b0 & 0x07) << 18) | ((bytes[i + 1] & 0x3f) << 12) | ((bytes[i + 2] & 0x3f) << 6) | (bytes[i + 3] & 0x3f);
        if (c >= 0x10000 && c <= 0x10ffff) {
          cp = c;
          len = 4;
        }
      }
    }
    if (cp > 0xffff) {
      cp -= 0x10000;
      units.push(0xd800 | (cp >> 10), 0xdc00 | (cp & 0x3ff));
    } else {
      units.push(cp);
    }
    if (units.length >= 8192) flush();
    i += len;
  }
  flush();
  return parts.join('');
}

function isCont(bytes: Uint8Array, i: number, n: number): boolean {
  return i < n && (bytes[i] & 0xc0) === 0x80;
}

/** Encodes a string as UTF-8 like `new TextEncoder().encode(text)` (lone surrogates become U+FFFD). */
export function encodeUtf8(text: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      }
    }
    if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 0x3f));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 0x3f), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
  }
  return Uint8Array.from(out);
}

/** Decodes ISO-8859-1 (one byte per character), for fixed binary headers. */
export function decodeLatin1(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return s;
}
