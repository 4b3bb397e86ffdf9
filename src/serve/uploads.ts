/** The images of a classify request: a raw body (image bytes) or the files of a multipart/form-data upload. @internal */
import type { FastifyRequest } from 'fastify';
import { PplcnetError } from '../errors.js';
import { ServeError } from './errors.js';

/** A file of a classify request. */
export interface Upload {
  file: string;
  bytes: Uint8Array;
}

/** What a classify request may carry, said wherever the body is wrong. */
export const WHAT_TO_SEND = 'send the image bytes with content-type image/* (e.g. image/png) or application/octet-stream, or a multipart/form-data upload of files';

/** A multipart failure of the form itself (not of a limit): 400 with what broke, never a server fault. */
function malformed(err: unknown): unknown {
  if (err instanceof ServeError || err instanceof PplcnetError) return err;
  const e = err as { statusCode?: unknown; message?: unknown; code?: unknown };
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500 && e.statusCode !== 400) return err;
  const why = typeof e?.message === 'string' ? e.message : String(err);
  return new ServeError('E_BAD_REQUEST', `the multipart/form-data body is malformed (${why}): send multipart/form-data with its boundary in the content-type, each part complete, uncompressed`);
}

async function readMultipart(req: FastifyRequest, bodyLimit: number): Promise<Upload[]> {
  const uploads: Upload[] = [];
  let total = 0;
  try {
    for await (const part of req.parts()) {
      if (part.type !== 'file') continue;
      const bytes = await part.toBuffer();
      total += bytes.length;
      if (total > bodyLimit) throw new ServeError('E_TOO_LARGE', `the upload is over ${bodyLimit} bytes (--body-limit)`);
      uploads.push({ file: part.filename || part.fieldname || `file${uploads.length}`, bytes });
    }
  } catch (err) {
    throw malformed(err);
  }
  if (uploads.length === 0) throw new ServeError('E_BAD_REQUEST', `the multipart upload holds no file: ${WHAT_TO_SEND}`);
  return uploads;
}

/** The request's images; `multipart` tells whether one bad file is a row (multipart) or the answer (raw). */
export async function readUploads(req: FastifyRequest, bodyLimit: number): Promise<{ uploads: Upload[]; multipart: boolean }> {
  if (req.isMultipart()) return { uploads: await readMultipart(req, bodyLimit), multipart: true };
  const body = req.body;
  if (body === undefined || body === null || (Buffer.isBuffer(body) && body.length === 0)) {
    throw new PplcnetError('E_IMAGE', `the request body is empty: ${WHAT_TO_SEND}`);
  }
  if (!Buffer.isBuffer(body)) throw new ServeError('E_MEDIA_TYPE', `content-type ${req.headers['content-type'] ?? '(none)'} is not an image: ${WHAT_TO_SEND}`);
  return { uploads: [{ file: 'body', bytes: body }], multipart: false };
}
