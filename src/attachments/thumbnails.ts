import sharp from 'sharp';

export interface Thumbnail {
  data: Buffer;
  contentType: 'image/webp';
  /** The original's dimensions (after EXIF rotation). */
  width: number;
  height: number;
}

/** Longest side of a thumbnail, in pixels. */
export const THUMBNAIL_SIZE = 320;
/** Decompression-bomb guard: refuse images over 50 megapixels before decoding them. */
const MAX_INPUT_PIXELS = 50_000_000;

/**
 * A WebP thumbnail of an uploaded image, rotated by its EXIF orientation and with metadata (GPS
 * and the like) stripped, as sharp does by default. Throws when the bytes are not a readable image.
 */
export async function makeThumbnail(image: Buffer): Promise<Thumbnail> {
  const input = sharp(image, { limitInputPixels: MAX_INPUT_PIXELS, failOn: 'error', animated: false });
  const meta = await input.metadata();
  if (!meta.width || !meta.height) throw new Error('not an image');
  // Orientations 5-8 swap the sides.
  const swapped = (meta.orientation ?? 1) >= 5;
  const data = await input
    .rotate()
    .resize(THUMBNAIL_SIZE, THUMBNAIL_SIZE, { fit: 'inside', withoutEnlargement: true })
    .webp({ quality: 75 })
    .toBuffer();
  return {
    data,
    contentType: 'image/webp',
    width: swapped ? meta.height : meta.width,
    height: swapped ? meta.width : meta.height,
  };
}
