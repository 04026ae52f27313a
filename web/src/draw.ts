// The drawing pad: white strokes on a black canvas from pointer events (mouse, touch and pen alike),
// reporting changes at most once per animation frame while drawing and once more when a stroke ends.
//
// NOTE: 20 px round strokes on the 280x280 canvas: a digit drawn ~200 px tall is scaled by 1/10 into
// MNIST's 20x20 box, giving the ~2 px strokes MNIST's digits have.
export const PAD_SIZE = 280;
export const STROKE_WIDTH = 20;

export interface DrawingPadOptions {
  /** Called after strokes change; `strokeEnded` is true on pointerup (the final state of a stroke). */
  onChange: (strokeEnded: boolean) => void;
}

export class DrawingPad {
  private readonly context: CanvasRenderingContext2D;
  private last: { x: number; y: number } | null = null;
  private pointerId: number | null = null;
  private frameRequested = false;
  private inked = false;

  constructor(
    readonly canvas: HTMLCanvasElement,
    private readonly options: DrawingPadOptions,
  ) {
    const context = canvas.getContext('2d', { willReadFrequently: true });
    if (!context) throw new Error('DrawingPad: this browser gives no 2D canvas context');
    this.context = context;
    canvas.width = PAD_SIZE;
    canvas.height = PAD_SIZE;
    canvas.addEventListener('pointerdown', (event) => this.down(event));
    canvas.addEventListener('pointermove', (event) => this.move(event));
    canvas.addEventListener('pointerup', (event) => this.up(event));
    canvas.addEventListener('pointercancel', (event) => this.up(event));
    this.clear();
  }

  /** True once anything was drawn since the last clear. */
  get hasInk(): boolean {
    return this.inked;
  }

  clear(): void {
    this.context.fillStyle = '#000';
    this.context.fillRect(0, 0, PAD_SIZE, PAD_SIZE);
    this.inked = false;
    this.last = null;
  }

  /** (280, 280, 4) u8 RGBA of the canvas. */
  rgba(): Uint8Array {
    const { data } = this.context.getImageData(0, 0, PAD_SIZE, PAD_SIZE);
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }

  private point(event: PointerEvent): { x: number; y: number } {
    // The canvas may be shown smaller than its 280 px (phones): map CSS pixels to canvas pixels.
    const rect = this.canvas.getBoundingClientRect();
    return {
      x: ((event.clientX - rect.left) * PAD_SIZE) / rect.width,
      y: ((event.clientY - rect.top) * PAD_SIZE) / rect.height,
    };
  }

  private down(event: PointerEvent): void {
    if (this.pointerId !== null || (event.pointerType === 'mouse' && event.button !== 0)) return;
    event.preventDefault();
    this.pointerId = event.pointerId;
    this.canvas.setPointerCapture(event.pointerId);
    this.last = this.point(event);
    this.segment(this.last, this.last);
    this.changed();
  }

  private move(event: PointerEvent): void {
    if (event.pointerId !== this.pointerId || !this.last) return;
    // Coalesced events: every sample the device reported since the last frame, for smooth curves.
    const samples = event.getCoalescedEvents?.() ?? [];
    for (const sample of samples.length > 0 ? samples : [event]) {
      const next = this.point(sample);
      this.segment(this.last, next);
      this.last = next;
    }
    this.changed();
  }

  private up(event: PointerEvent): void {
    if (event.pointerId !== this.pointerId) return;
    if (event.type === 'pointerup' && this.last) this.segment(this.last, this.point(event));
    this.pointerId = null;
    this.last = null;
    this.options.onChange(true);
  }

  private segment(from: { x: number; y: number }, to: { x: number; y: number }): void {
    const context = this.context;
    context.strokeStyle = '#fff';
    context.fillStyle = '#fff';
    context.lineWidth = STROKE_WIDTH;
    context.lineCap = 'round';
    context.lineJoin = 'round';
    context.beginPath();
    context.moveTo(from.x, from.y);
    context.lineTo(to.x, to.y);
    context.stroke();
    this.inked = true;
  }

  /** At most one onChange per animation frame while the pointer moves. */
  private changed(): void {
    if (this.frameRequested) return;
    this.frameRequested = true;
    requestAnimationFrame(() => {
      this.frameRequested = false;
      if (this.pointerId !== null) this.options.onChange(false);
    });
  }
}
