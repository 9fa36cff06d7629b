/**
 * A `fetch` that counts the bytes of every response body as it streams in (tfjs's own
 * progress is a fraction of the files, not of the bytes), for download progress with bytes,
 * rate and time left.
 */
export function countingFetch(onBytes: (received: number) => void, inner: typeof fetch = fetch): typeof fetch {
  let received = 0;
  return async (input, init) => {
    const response = await inner(input, init);
    if (!response.body) return response;
    const reader = response.body.getReader();
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const { done, value } = await reader.read();
        if (done) {
          controller.close();
          return;
        }
        received += value.byteLength;
        onBytes(received);
        controller.enqueue(value);
      },
      cancel: (reason) => reader.cancel(reason),
    });
    return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
}
