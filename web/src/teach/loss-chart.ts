// The live loss of a fine-tuning: one line of batch losses on a canvas, redrawn at most once per
// animation frame however fast the worker reports (a few hundred points: no chart library needed).
export class LossChart {
  private readonly losses: number[] = [];
  private frameRequested = false;

  constructor(private readonly canvas: HTMLCanvasElement) {
    this.draw();
  }

  reset(): void {
    this.losses.length = 0;
    this.request();
  }

  add(step: number, loss: number): void {
    this.losses[step] = loss;
    this.canvas.dataset['points'] = String(this.losses.length);
    this.request();
  }

  private request(): void {
    if (this.frameRequested) return;
    this.frameRequested = true;
    requestAnimationFrame(() => {
      this.frameRequested = false;
      this.draw();
    });
  }

  private draw(): void {
    const context = this.canvas.getContext('2d');
    if (!context) return;
    const { width, height } = this.canvas;
    const pad = { left: 40, right: 8, top: 8, bottom: 18 };
    context.clearRect(0, 0, width, height);
    context.font = '11px system-ui, sans-serif';
    context.fillStyle = '#59636e';
    const finite = this.losses.filter(Number.isFinite);
    if (finite.length === 0) {
      context.fillText('loss per step appears here while it learns', pad.left, height / 2);
      return;
    }
    const top = Math.max(...finite) || 1;
    const x = (i: number) =>
      pad.left + (i / Math.max(1, this.losses.length - 1)) * (width - pad.left - pad.right);
    const y = (v: number) => pad.top + (1 - v / top) * (height - pad.top - pad.bottom);
    context.strokeStyle = '#d1d9e0';
    context.beginPath();
    context.moveTo(pad.left, y(0));
    context.lineTo(width - pad.right, y(0));
    context.stroke();
    context.fillText(top.toFixed(2), 4, pad.top + 8);
    context.fillText('0', 4, y(0));
    context.fillText(`step ${this.losses.length}`, width - pad.right - 60, height - 4);
    context.strokeStyle = '#1971c2';
    context.lineWidth = 2;
    context.beginPath();
    this.losses.forEach((loss, i) =>
      i === 0 ? context.moveTo(x(i), y(loss)) : context.lineTo(x(i), y(loss)),
    );
    context.stroke();
  }
}
