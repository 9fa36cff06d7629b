/**
 * UTF-8 text <-> bytes for the engine. TextDecoder and TextEncoder exist in every runtime
 * the engine runs in (browsers, workers, Node), but src/core compiles against the bare
 * ES2022 library, which does not declare them; this module declares just what we use.
 */
interface TextDecoderLike {
  decode(bytes: Uint8Array): string;
}
interface TextDecoderOptions {
  fatal?: boolean;
}
interface TextEncoderLike {
  encode(text: string): Uint8Array;
}
interface TextCodecGlobals {
  TextDecoder: new (label?: string, options?: TextDecoderOptions) => TextDecoderLike;
  TextEncoder: new () => TextEncoderLike;
}

const codecs = globalThis as unknown as TextCodecGlobals;
const utf8Decoder = new codecs.TextDecoder('utf-8');
const strictUtf8Decoder = new codecs.TextDecoder('utf-8', { fatal: true });
const latin1Decoder = new codecs.TextDecoder('latin1');
const utf8Encoder = new codecs.TextEncoder();

/** UTF-8 to text; `strict` throws on malformed bytes instead of inserting U+FFFD. */
export const decodeUtf8 = (bytes: Uint8Array, { strict = false } = {}): string =>
  (strict ? strictUtf8Decoder : utf8Decoder).decode(bytes);
export const encodeUtf8 = (text: string): Uint8Array => utf8Encoder.encode(text);
/** Single-byte text such as a MAT file's header. */
export const decodeLatin1 = (bytes: Uint8Array): string => latin1Decoder.decode(bytes);
