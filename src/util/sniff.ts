/**
 * What a file is, from its first bytes (never its name): the one place that tells a `.pdparams` pickle
 * from a Paddle program, an ONNX model, a tar archive or an image, so every command can say "x.jpg is a
 * JPEG image; convert takes …" instead of a parser's error from deep inside the wrong reader.
 */
import { constants } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { PplcnetError } from '../errors.js';

export type FileKind =
  | 'pickle' // Python pickle: PaddleClas .pdparams weights
  | 'paddle-program' // protobuf ProgramDesc: legacy inference.pdmodel
  | 'pir-json' // Paddle 3 PIR program: inference.json
  | 'onnx' // protobuf ModelProto
  | 'tar'
  | 'gzip'
  | 'zip'
  | 'image'
  | 'pdf'
  | 'folder'
  | 'unknown';

export interface SniffedFile {
  readonly kind: FileKind;
  /** The format within the kind, when it matters: `JPEG`, `PNG`, `SVG`, … */
  readonly format?: string;
  /** What the file is, as a sentence fragment: `a JPEG image`, `an ONNX model`. */
  readonly description: string;
}

const IMAGES: readonly { readonly format: string; readonly test: (b: Uint8Array) => boolean }[] = [
  { format: 'JPEG', test: (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff },
  { format: 'PNG', test: (b) => ascii(b, 1, 3) === 'PNG' && b[0] === 0x89 },
  { format: 'GIF', test: (b) => ascii(b, 0, 4) === 'GIF8' },
  { format: 'WebP', test: (b) => ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 4) === 'WEBP' },
  { format: 'BMP', test: (b) => ascii(b, 0, 2) === 'BM' && b.length >= 14 },
  { format: 'TIFF', test: (b) => ascii(b, 0, 4) === 'II*\0' || ascii(b, 0, 4) === 'MM\0*' },
  { format: 'AVIF', test: (b) => ascii(b, 4, 4) === 'ftyp' && /^avi[fs]$/.test(ascii(b, 8, 4)) },
  { format: 'HEIC', test: (b) => ascii(b, 4, 4) === 'ftyp' && /^(heic|heix|mif1)$/.test(ascii(b, 8, 4)) },
  { format: 'SVG', test: (b) => /^\s*(<\?xml[^>]*>\s*)?(<!--[\s\S]*?-->\s*)*<svg[\s>]/.test(ascii(b, 0, b.length)) },
];

function ascii(b: Uint8Array, at: number, n: number): string {
  let s = '';
  for (let i = at; i < Math.min(b.length, at + n); i++) s += String.fromCharCode(b[i]!);
  return s;
}

/** A protobuf varint at `at`: its value (up to 2^28) and length, or undefined. */
function varint(b: Uint8Array, at: number): { value: number; length: number } | undefined {
  let value = 0;
  for (let i = 0; i < 4 && at + i < b.length; i++) {
    value |= (b[at + i]! & 0x7f) << (7 * i);
    if (!(b[at + i]! & 0x80)) return { value, length: i + 1 };
  }
  return undefined;
}

/**
 * ONNX ModelProto starts with `ir_version` (field 1, varint 3…20), then a length-delimited field
 * (opset_import 8, producer_name 2, graph 7, …). A Paddle ProgramDesc starts with `blocks` (field 1,
 * length-delimited: tag 0x0a) holding a BlockDesc whose first fields are `idx` (0x08) and `parent_idx` (0x10).
 */
function protobufKind(b: Uint8Array): 'onnx' | 'paddle-program' | undefined {
  if (b[0] === 0x08) {
    const v = varint(b, 1);
    if (v && v.value >= 3 && v.value <= 20 && [0x12, 0x1a, 0x22, 0x2a, 0x3a, 0x42, 0x4a, 0x72].includes(b[1 + v.length]!)) return 'onnx';
  }
  if (b[0] === 0x0a) {
    const len = varint(b, 1);
    if (len && b[1 + len.length] === 0x08) return 'paddle-program';
  }
  return undefined;
}

const AN: Record<Exclude<FileKind, 'image'>, string> = {
  pickle: 'a Python pickle (PaddleClas .pdparams weights)',
  'paddle-program': 'a Paddle ProgramDesc (legacy inference.pdmodel)',
  'pir-json': 'a Paddle 3 PIR program (inference.json)',
  onnx: 'an ONNX model',
  tar: 'a tar archive',
  gzip: 'a gzip-compressed file',
  zip: 'a zip archive',
  pdf: 'a PDF document',
  folder: 'a folder',
  unknown: 'of no format pplcnet knows',
};

/** What `bytes` (a file's first bytes; 512 are plenty) are. */
export function sniffBytes(b: Uint8Array): SniffedFile {
  const kind = (k: Exclude<FileKind, 'image'>): SniffedFile => ({ kind: k, description: AN[k] });
  if (b[0] === 0x80 && b[1] !== undefined && b[1] >= 2 && b[1] <= 5) return kind('pickle');
  for (const i of IMAGES) if (i.test(b)) return { kind: 'image', format: i.format, description: `${i.format === 'AVIF' ? 'an' : 'a'} ${i.format} image` };
  if (b.length >= 262 && ascii(b, 257, 5) === 'ustar') return kind('tar');
  if (b[0] === 0x1f && b[1] === 0x8b) return kind('gzip');
  if (ascii(b, 0, 4) === 'PK\x03\x04') return kind('zip');
  if (ascii(b, 0, 5) === '%PDF-') return kind('pdf');
  if (/^\s*\{\s*"(base_code|program)"/.test(ascii(b, 0, 64))) return kind('pir-json');
  const proto = protobufKind(b);
  if (proto) return kind(proto);
  return kind('unknown');
}

/** What the file at `path` is, from its first 512 bytes; a folder is `folder`; a missing path is E_IO. */
export async function sniffFile(path: string): Promise<SniffedFile> {
  let st;
  try {
    st = await stat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new PplcnetError('E_IO', `${path}: no such file or folder`);
    throw err;
  }
  if (st.isDirectory()) return { kind: 'folder', description: AN.folder };
  if (!st.isFile()) return { kind: 'unknown', description: 'not a regular file' };
  // without blocking: a FIFO that appeared since the stat above is not waited for (its read finds nothing)
  const fh = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  try {
    const buf = new Uint8Array(512);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return sniffBytes(buf.subarray(0, bytesRead));
  } finally {
    await fh.close();
  }
}

/** What a model path is for: `convert`'s input, `inspect`'s input, or `--model` of predict/bench/compare. */
export type ModelFileUse = 'convert' | 'inspect' | 'model';

const TAKES: Record<ModelFileUse, string> = {
  convert: 'convert takes a .pdparams file, or a Paddle inference model (folder, inference.json, inference.pdmodel or a *_infer.tar archive)',
  inspect: 'inspect takes a .pdparams file, a Paddle inference model (folder, inference.json, inference.pdmodel or a *_infer.tar archive) or an .onnx model',
  model: '--model takes a zoo name, an .onnx model, a .pdparams file or a Paddle inference model (folder, inference.json, inference.pdmodel or a *_infer.tar archive)',
};

/**
 * Sniff a model path before any reader sees it, and refuse what is certainly the wrong kind of file with
 * what it is and what the command takes (an image, an ONNX model given to convert, a gzip, a zip, a PDF). Returns
 * what the file is, or undefined when nothing is at `path` (it may be a zoo name). Kinds it cannot tell
 * pass, for the reader to judge.
 */
export async function checkModelFile(path: string, use: ModelFileUse): Promise<SniffedFile | undefined> {
  let sniffed: SniffedFile;
  try {
    sniffed = await sniffFile(path);
  } catch (err) {
    if (err instanceof PplcnetError && err.code === 'E_IO') return undefined;
    throw err;
  }
  const refuse = (advice: string): never => {
    throw new PplcnetError('E_FORMAT', `${path} is ${sniffed.description}, not a model; ${TAKES[use]}${advice ? `; ${advice}` : ''}`);
  };
  if (sniffed.kind === 'image') refuse(use === 'model' ? `the images go after the options: pplcnet predict -m MODEL ${path}` : `to classify it use pplcnet predict -m MODEL ${path}`);
  if (sniffed.kind === 'onnx' && use === 'convert') {
    throw new PplcnetError('E_FORMAT', `${path} is already an ONNX model: nothing to convert; use it directly with pplcnet predict -m ${path}, or look inside with pplcnet inspect ${path}`);
  }
  if (sniffed.kind === 'gzip') {
    refuse(`if it is a compressed Paddle inference model archive (.tar.gz, .tgz), unpack it first (tar xzf ${path}) and pass the model's folder, or decompress it (gunzip) and pass the .tar`);
  }
  if (sniffed.kind === 'zip') refuse('a zip archive is no PaddlePaddle format (a PyTorch checkpoint is one); export the model to Paddle or ONNX first');
  if (sniffed.kind === 'pdf') refuse('');
  return sniffed;
}
