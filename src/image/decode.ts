/**
 * Decoding with sharp into the 8-bit RGB pixels OpenCV's `imread(IMREAD_COLOR)` gives PaddleClas (after its
 * BGR→RGB): EXIF orientation applied, alpha dropped (not composited), grayscale replicated, 16-bit samples
 * reduced by dropping the low byte (libpng's strip_16), palettes expanded, CMYK converted to sRGB; TIFF
 * variants as libtiff's RGBA interface gives them to OpenCV, or refused (see `tiff.ts`).
 */
import type { Metadata, Sharp } from 'sharp';
import sharp from './sharp.js';
import { PplcnetError } from '../errors.js';
import { limiter } from '../util/limit.js';
import { decodeBmp } from './bmp.js';
import { type DecodeMode, type ShrinkPlan, decodeMode, resizeTarget, shrinkPlan, withShrinkOnLoad } from './fast-decode.js';
import { type FileLimit, formatBytes, openRegularFile, readOpenFile } from '../util/fs.js';
import { type DecodeOptions, type ImageFormat, checkPixels, declaredImage, imageEnd, jpegFrame, lookalike, maxImageFileBytes, pixelLimit, sniffFormat, unsupportedFormat } from './limits.js';
import type { Image8 } from './resize.js';
import { type TiffPlan, readTiffLayout, tiffCmyk, tiffPlan, tiffRgb } from './tiff.js';

export { jpegFrame } from './limits.js';

/** An image input: a file path, or encoded bytes. */
export type ImageInput = string | Uint8Array;

/** A decoded image; after a fast (shrink-on-load) decode, also the size it has at full scale. */
export interface DecodedImage extends Image8 {
  /** Set when decoded at reduced scale (`decode: 'fast'`): the full-size width and height (EXIF-oriented). */
  readonly scaledFrom?: { readonly width: number; readonly height: number; readonly scale: number };
  /** What the decoder ignored and the user should know (bytes after the image's end). */
  readonly warnings?: readonly string[];
}

sharp.cache(false);

function describeInput(input: ImageInput): string {
  return typeof input === 'string' ? input : `<${input.length} bytes>`;
}

/** The first bytes read of an image file, to recognise it and read the size it declares (a JPEG's frame header may follow EXIF and ICC segments). */
const HEAD_BYTES = 1 << 20;

/**
 * An image file's bytes, read under the rule for every named file (`openRegularFile`: a regular file, checked
 * with fstat on the opened descriptor, a FIFO never waited for) and two bounds, each checked before the
 * whole file is read: what any supported format can take at the pixel limit ({@link maxImageFileBytes}), and,
 * for PNG, JPEG and BMP, what the image the header declares can take ({@link declaredImage}). @internal
 */
export async function readImageFile(path: string, name: string, maxPixels: number): Promise<Uint8Array> {
  const limit: FileLimit = {
    what: 'an image file',
    maxBytes: maxImageFileBytes(maxPixels),
    code: 'E_IMAGE',
    readCode: 'E_IMAGE',
    advice: `No supported format takes more at the pixel limit of ${maxPixels} pixels (uncompressed 16-bit RGBA, plus 64 MiB of metadata)`,
  };
  const { handle, size } = await openRegularFile(path, limit, name);
  try {
    const head = await readOpenFile(handle, Math.min(size, HEAD_BYTES), name, limit);
    const format = head.length < size ? sniffFormat(head) : undefined;
    // an unknown format is refused from its first bytes alone; a small file is read whole already
    if (format === undefined) return head;
    const declared = declaredImage(head, format);
    if (declared) {
      checkPixels(name, declared.width, declared.height, maxPixels, declared.format);
      if (size > declared.maxBytes) {
        throw new PplcnetError(
          'E_IMAGE',
          `${name}: ${size} bytes (${formatBytes(size)}), more than a ${declared.width}x${declared.height} ${declared.format} image can take ` +
            `(${declared.maxBytes} bytes: its samples uncompressed plus 64 MiB of metadata); not read. The file holds something else besides the image: re-encode the image, or cut what follows it`,
        );
      }
    }
    return await readOpenFile(handle, size, name, limit);
  } finally {
    await handle.close();
  }
}

/** What follows an image's end (PNG after IEND, JPEG after EOI) is ignored, as OpenCV's imread ignores it, and said. */
function trailingWarning(bytes: Uint8Array, format: ImageFormat, name: string): string[] | undefined {
  const end = imageEnd(bytes, format);
  if (end === undefined || end >= bytes.length) return undefined;
  const extra = bytes.length - end;
  return [`${name}: ${extra} byte${extra === 1 ? '' : 's'} after the end of the ${format.toUpperCase()} image (byte ${end}) ignored, as OpenCV's imread ignores them`];
}

/** sharp's name for each format it decodes for pplcnet (AVIF is its `heif` with AV1 compression). */
const SHARP_FORMAT: Record<Exclude<ImageFormat, 'bmp'>, string> = { jpeg: 'jpeg', png: 'png', webp: 'webp', tiff: 'tiff', gif: 'gif', avif: 'heif' };

/**
 * Images of more pixels than this are decoded one at a time in each thread (others wait their turn), so
 * that holding two images in hand (`IMAGES_IN_HAND`) never means two decodes at the pixel limit at once:
 * the worst case stays one full-size image per thread, as with one image in hand. 24 MP: a 6000×4000 photo.
 */
export const LARGE_PIXELS = 24_000_000;

/** This thread's turn to decode a large image; call the function returned when done. @internal */
export const largeTurn = limiter(1);

/**
 * Decode to interleaved RGB uint8 (HWC). The format is recognised from the content (JPEG, PNG, WebP, TIFF,
 * GIF, AVIF, BMP; anything else, e.g. SVG or PDF, is refused), and the size the image declares is checked
 * against the pixel limit ({@link MAX_PIXELS}, or `options.maxPixels`) before any pixel is decoded.
 */
export async function decodeImage(input: ImageInput, name = describeInput(input), options?: DecodeOptions): Promise<DecodedImage> {
  const maxPixels = pixelLimit(options);
  const mode = decodeMode(options?.decode);
  const bytes = typeof input === 'string' ? await readImageFile(input, name, maxPixels) : input;
  if (bytes.length === 0) throw new PplcnetError('E_IMAGE', `${name}: the file is empty`);
  const format = sniffFormat(bytes);
  if (format === undefined) throw unsupportedFormat(name, lookalike(bytes));
  const image = format === 'bmp' ? decodeBmp(bytes, name, { maxPixels }) : await decodeEncoded(bytes, format, name, maxPixels, mode, options);
  const warnings = trailingWarning(bytes, format, name);
  return warnings ? { ...image, warnings } : image;
}

/** Decode the bytes of a JPEG, PNG, WebP, TIFF, GIF or AVIF with sharp (see {@link decodeImage}). */
async function decodeEncoded(bytes: Uint8Array, format: Exclude<ImageFormat, 'bmp'>, name: string, maxPixels: number, mode: DecodeMode, options: DecodeOptions | undefined): Promise<DecodedImage> {
  const source = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // the backstop: sharp refuses more pixels than this itself, whatever the header check below found.
  // sharp reads sequentially (its default): beyond the encoded bytes, only the RGB output is held whole
  // (an EXIF rotation also needs the decoded image once).
  const load = (): Sharp => sharp(source, { limitInputPixels: maxPixels });
  let release: (() => void) | undefined;
  try {
    // JPEG is always 8-bit and its size is in its frame header: no metadata pass. Other formats may hold
    // 16-bit samples; their header (only) is read first, to check the format and the size.
    const frame = format === 'jpeg' ? jpegFrame(bytes) : undefined;
    let meta: Metadata | undefined;
    if (frame) checkPixels(name, frame.width, frame.height, maxPixels, 'JPEG');
    else {
      meta = await sharp(source, { limitInputPixels: false }).metadata();
      const avif = format !== 'avif' || meta.compression === 'av1';
      if (meta.format !== SHARP_FORMAT[format] || !avif) throw unsupportedFormat(name, `${meta.format}${meta.compression ? ` (${meta.compression})` : ''}`);
      checkPixels(name, meta.width ?? 0, meta.pageHeight ?? meta.height ?? 0, maxPixels, format.toUpperCase());
    }
    const pixels = frame ? frame.width * frame.height : (meta!.width ?? 0) * (meta!.pageHeight ?? meta!.height ?? 0);
    if (pixels > LARGE_PIXELS) release = await largeTurn();
    const tiff = format === 'tiff' ? tiffPlan(readTiffLayout(bytes), name) : undefined;
    if (tiff && tiff.kind !== 'as-is') return await decodeTiffVariant(load, tiff, name);
    const sixteen = meta !== undefined && (meta.depth === 'ushort' || meta.depth === 'short');
    if (frame?.components === 4) {
      return cmykToRgb(await load().rotate().pipelineColourspace('cmyk').toColourspace('cmyk').raw().toBuffer({ resolveWithObject: true }), name);
    }
    let pipeline = load().rotate();
    let shrink: { plan: ShrinkPlan; width: number; height: number } | undefined;
    if (frame && mode === 'fast' && options?.resize) {
      shrink = await fastShrink(source, frame, options.resize);
      if (shrink) pipeline = withShrinkOnLoad(pipeline, shrink.plan);
    }
    if (sixteen) {
      pipeline = pipeline.toColourspace(meta!.channels !== undefined && meta!.channels <= 2 && meta!.space === 'grey16' ? 'grey16' : 'rgb16');
      const { data, info } = await pipeline.removeAlpha().raw({ depth: 'ushort' }).toBuffer({ resolveWithObject: true });
      const words = new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2);
      // in place: byte i is written after word i (bytes 2i, 2i+1 ≥ i) was read, so no extra buffer
      const bytes8 = new Uint8Array(data.buffer, data.byteOffset, words.length);
      for (let i = 0; i < words.length; i++) bytes8[i] = words[i]! >> 8;
      return toRgb(bytes8, info.width, info.height, info.channels, name);
    }
    const { data, info } = await pipeline.removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    const rgb = toRgb(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), info.width, info.height, info.channels, name);
    return shrink ? { ...rgb, scaledFrom: { width: shrink.width, height: shrink.height, scale: shrink.plan.scale } } : rgb;
  } catch (err) {
    if (err instanceof PplcnetError) throw err;
    const msg = ((err as Error).message ?? String(err)).trim();
    if (/exceeds pixel limit/i.test(msg)) {
      throw new PplcnetError('E_IMAGE', `${name}: the image has more than ${maxPixels} pixels (sharp: ${msg}); not decoded. Scale it down, or raise the maxPixels option`, { cause: err });
    }
    throw new PplcnetError('E_IMAGE', `${name}: cannot decode the image (${msg}); pplcnet reads JPEG, PNG, WebP, TIFF, GIF, AVIF and BMP`, { cause: err });
  } finally {
    release?.();
  }
}

/** A TIFF whose samples need OpenCV's (libtiff's) own arithmetic: 16-bit colour, unassociated alpha, CMYK. */
async function decodeTiffVariant(load: () => Sharp, plan: Exclude<TiffPlan, { kind: 'as-is' }>, name: string): Promise<Image8> {
  if (plan.kind === 'cmyk') {
    const { data, info } = await load().rotate().pipelineColourspace('cmyk').toColourspace('cmyk').raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 4) throw new PplcnetError('E_IMAGE', `${name}: CMYK TIFF decoded to ${info.channels} channels, expected 4`);
    return tiffCmyk(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), info.width, info.height);
  }
  const pipeline = load().rotate();
  const { data, info } =
    plan.bits === 16
      ? await pipeline.toColourspace('rgb16').raw({ depth: 'ushort' }).toBuffer({ resolveWithObject: true })
      : await pipeline.toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== (plan.alpha ? 4 : 3)) throw new PplcnetError('E_IMAGE', `${name}: TIFF decoded to ${info.channels} channels, expected ${plan.alpha ? 4 : 3}`);
  const samples = plan.bits === 16 ? new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return tiffRgb(samples, info.width, info.height, info.channels, plan);
}

/**
 * The shrink-on-load of a JPEG in `fast` mode, or undefined to decode it exactly: only when the image is at least
 * 5× what the resize asks on both axes (either way round) is the header read again, for the EXIF orientation (the resize
 * target is of the displayed image).
 */
async function fastShrink(source: Buffer, frame: { width: number; height: number }, resize: NonNullable<DecodeOptions['resize']>): Promise<{ plan: ShrinkPlan; width: number; height: number } | undefined> {
  const plain = shrinkPlan(frame.width, frame.height, resizeTarget(frame.width, frame.height, resize));
  const turned = shrinkPlan(frame.height, frame.width, resizeTarget(frame.height, frame.width, resize));
  if (!plain && !turned) return undefined;
  const meta = await sharp(source, { limitInputPixels: false }).metadata();
  const { width, height } = meta.autoOrient ?? { width: frame.width, height: frame.height };
  const plan = width === frame.width && height === frame.height ? plain : turned;
  return plan ? { plan, width, height } : undefined;
}

/** The number of colour components in a JPEG's frame header (SOFn), or undefined when none is found. */
export function jpegComponents(b: Uint8Array): number | undefined {
  return jpegFrame(b)?.components;
}

/**
 * CMYK as OpenCV converts it (icvCvt_CMYK2BGR on libjpeg's Adobe-inverted samples), written for the
 * uninverted values libvips gives: R = (255 − K) − ((C·(255 − K)) >> 8), likewise G from M and B from Y.
 */
function cmykToRgb({ data, info }: { data: Buffer; info: { width: number; height: number; channels: number } }, name: string): Image8 {
  if (info.channels !== 4) throw new PplcnetError('E_IMAGE', `${name}: CMYK image decoded to ${info.channels} channels`);
  const n = info.width * info.height;
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const k = 255 - data[4 * i + 3]!;
    out[3 * i] = k - ((data[4 * i]! * k) >> 8);
    out[3 * i + 1] = k - ((data[4 * i + 1]! * k) >> 8);
    out[3 * i + 2] = k - ((data[4 * i + 2]! * k) >> 8);
  }
  return { width: info.width, height: info.height, channels: 3, data: out };
}

function toRgb(data: Uint8Array, width: number, height: number, channels: number, name: string): Image8 {
  if (channels === 3) return { width, height, channels: 3, data };
  if (channels === 1) {
    const out = new Uint8Array(width * height * 3);
    for (let i = 0; i < width * height; i++) out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = data[i]!;
    return { width, height, channels: 3, data: out };
  }
  throw new PplcnetError('E_IMAGE', `${name}: decoded to ${channels} channels, expected 1 or 3`);
}
