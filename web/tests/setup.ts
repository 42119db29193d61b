// jsdom has no ResizeObserver; Svelte's bind:clientWidth/clientHeight use
// one. This stand-in never reports a size change (jsdom lays nothing out).
if (!('ResizeObserver' in globalThis)) {
  class ResizeObserverStub {
    observe(): void {}
    unobserve(): void {}
    disconnect(): void {}
  }
  (globalThis as unknown as { ResizeObserver: unknown }).ResizeObserver = ResizeObserverStub;
}
