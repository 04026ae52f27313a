// The model's answer on the page: one bar per class (probability as width and percent, the top
// class highlighted) and the 28x28 image the model saw, drawn pixel for pixel on a small canvas.
import type { Prediction } from '../../src/browser.js';

/** Fills `list` with one bar per class; bars are reused across updates. */
export function renderBars(
  list: HTMLElement,
  prediction: Prediction | null,
  classNames: readonly string[],
): void {
  const count = prediction?.probabilities.length ?? classNames.length;
  while (list.children.length > count) list.lastElementChild?.remove();
  while (list.children.length < count) {
    const item = document.createElement('li');
    item.innerHTML =
      '<span class="bar-name"></span><span class="bar-track"><span class="bar-fill"></span></span><span class="bar-value"></span>';
    list.append(item);
  }
  for (let k = 0; k < count; k++) {
    const item = list.children[k] as HTMLElement;
    const probability = prediction?.probabilities[k] ?? 0;
    const name = classNames[k] ?? String(k);
    item.classList.toggle('top', prediction?.label === k);
    item.dataset['label'] = String(k);
    (item.querySelector('.bar-name') as HTMLElement).textContent = name;
    (item.querySelector('.bar-fill') as HTMLElement).style.width = `${(probability * 100).toFixed(1)}%`;
    (item.querySelector('.bar-value') as HTMLElement).textContent = prediction
      ? `${(probability * 100).toFixed(1)}%`
      : '';
  }
}

/** Draws a (28, 28) u8 image (white ink on black) on a 28x28 canvas; CSS scales it up pixelated. */
export function renderPreview(canvas: HTMLCanvasElement, image: Uint8Array | null): void {
  const context = canvas.getContext('2d');
  if (!context) return;
  const side = Math.round(Math.sqrt(image?.length ?? canvas.width * canvas.height));
  canvas.width = side;
  canvas.height = side;
  const pixels = context.createImageData(side, side);
  for (let i = 0; i < side * side; i++) {
    const v = image?.[i] ?? 0;
    pixels.data[4 * i] = v;
    pixels.data[4 * i + 1] = v;
    pixels.data[4 * i + 2] = v;
    pixels.data[4 * i + 3] = 255;
  }
  context.putImageData(pixels, 0, 0);
  canvas.dataset['drawn'] = image ? 'true' : 'false';
}
