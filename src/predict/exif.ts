// JPEG EXIF orientation: phones store a portrait photo as landscape pixels plus an Orientation tag
// (EXIF 2.3, tag 0x0112 in IFD0 of the APP1 "Exif" segment) saying how to turn it for display. jpeg-js
// ignores the tag; orientImage() applies it. Pure and browser-safe.
//
// Every read is bounds-checked and a malformed segment means "no orientation" (1): the file's
// bytes are untrusted, and the picture itself is still decodable without its EXIF.
import type { RgbaImage } from '../data/grid.js';

const TAG_ORIENTATION = 0x0112;
const TYPE_SHORT = 3;
/** IFD entries read at most: IFD0 holds a few dozen; a claimed 65,535 is a lie. */
const MAX_ENTRIES = 512;

/**
 * The EXIF Orientation (1..8) of JPEG bytes: 1 when there is none or it cannot be read. Walks the
 * marker segments before the first scan, looking for APP1 "Exif\0\0" + a TIFF header.
 */
export function jpegOrientation(bytes: Uint8Array): number {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return 1;
  let p = 2;
  while (p + 4 <= bytes.length) {
    if (bytes[p] !== 0xff) return 1;
    const marker = bytes[p + 1] as number;
    if (marker === 0xff) {
      p++; // fill byte
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      p += 2; // markers without a length
      continue;
    }
    if (marker === 0xda || marker === 0xd9) return 1; // the scan starts: no EXIF before it
    const length = ((bytes[p + 2] as number) << 8) | (bytes[p + 3] as number);
    if (length < 2 || p + 2 + length > bytes.length) return 1;
    if (marker === 0xe1) {
      const found = exifOrientation(bytes.subarray(p + 4, p + 2 + length));
      if (found !== undefined) return found;
    }
    p += 2 + length;
  }
  return 1;
}

/** The orientation in one APP1 payload, or undefined when it is not EXIF or holds none. */
function exifOrientation(segment: Uint8Array): number | undefined {
  // "Exif\0\0", then the TIFF header: byte order "II" or "MM", 42, offset of IFD0.
  const exif = [0x45, 0x78, 0x69, 0x66, 0, 0];
  if (segment.length < 14 || !exif.every((b, i) => segment[i] === b)) return undefined;
  const tiff = new DataView(segment.buffer, segment.byteOffset + 6, segment.length - 6);
  const order = tiff.getUint16(0);
  if (order !== 0x4949 && order !== 0x4d4d) return undefined;
  const little = order === 0x4949;
  if (tiff.getUint16(2, little) !== 42) return undefined;
  const ifd = tiff.getUint32(4, little);
  if (ifd < 8 || ifd + 2 > tiff.byteLength) return undefined;
  const entries = Math.min(tiff.getUint16(ifd, little), MAX_ENTRIES);
  for (let i = 0; i < entries; i++) {
    const entry = ifd + 2 + i * 12; // tag u16, type u16, count u32, value u32 (a SHORT sits first)
    if (entry + 12 > tiff.byteLength) return undefined;
    if (tiff.getUint16(entry, little) !== TAG_ORIENTATION) continue;
    if (tiff.getUint16(entry + 2, little) !== TYPE_SHORT || tiff.getUint32(entry + 4, little) < 1)
      return undefined;
    const value = tiff.getUint16(entry + 8, little);
    return value >= 1 && value <= 8 ? value : undefined;
  }
  return undefined;
}

/**
 * The picture as it is meant to be seen: `image` (H, W, 4) as stored, turned by EXIF orientation
 * `orientation` (1 unchanged; 2 mirrored; 3 turned 180°; 4 flipped; 5 transposed; 6 turned 90°
 * clockwise; 7 transversed; 8 turned 90° anticlockwise). 5..8 swap width and height.
 */
export function orientImage(image: RgbaImage, orientation: number): RgbaImage {
  if (!(orientation >= 2 && orientation <= 8) || !Number.isInteger(orientation)) return image;
  const { width: w, height: h, data } = image;
  const swap = orientation >= 5;
  const outWidth = swap ? h : w;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      // Where stored pixel (x, y) is displayed.
      let dx: number;
      let dy: number;
      switch (orientation) {
        case 2:
          [dx, dy] = [w - 1 - x, y];
          break;
        case 3:
          [dx, dy] = [w - 1 - x, h - 1 - y];
          break;
        case 4:
          [dx, dy] = [x, h - 1 - y];
          break;
        case 5:
          [dx, dy] = [y, x];
          break;
        case 6:
          [dx, dy] = [h - 1 - y, x];
          break;
        case 7:
          [dx, dy] = [h - 1 - y, w - 1 - x];
          break;
        default: // 8
          [dx, dy] = [y, w - 1 - x];
      }
      const from = (y * w + x) * 4;
      out.set(data.subarray(from, from + 4), (dy * outWidth + dx) * 4);
    }
  }
  return { width: outWidth, height: swap ? w : h, data: out };
}
