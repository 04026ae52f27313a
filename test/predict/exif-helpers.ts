// Writes an EXIF Orientation tag into JPEG bytes, as a phone camera does: an APP1 "Exif" segment
// right after SOI, with a TIFF header (little- or big-endian) and one IFD0 entry.

/** `jpegBytes` with an APP1 segment whose IFD0 holds Orientation = `orientation`. */
export function withExifOrientation(jpegBytes: Uint8Array, orientation: number, little: boolean): Uint8Array {
  const tiff = new DataView(new ArrayBuffer(8 + 2 + 12 + 4));
  tiff.setUint16(0, little ? 0x4949 : 0x4d4d);
  tiff.setUint16(2, 42, little);
  tiff.setUint32(4, 8, little); // IFD0 right after the header
  tiff.setUint16(8, 1, little); // one entry
  tiff.setUint16(10, 0x0112, little); // Orientation
  tiff.setUint16(12, 3, little); // SHORT
  tiff.setUint32(14, 1, little); // one value
  tiff.setUint16(18, orientation, little); // left-justified in the 4-byte value field
  tiff.setUint32(22, 0, little); // no next IFD
  const payload = [...new TextEncoder().encode('Exif'), 0, 0, ...new Uint8Array(tiff.buffer)];
  const length = payload.length + 2;
  return Uint8Array.from([
    0xff,
    0xd8,
    0xff,
    0xe1,
    length >> 8,
    length & 0xff,
    ...payload,
    ...jpegBytes.subarray(2),
  ]);
}
