// The live traces take the height the first screen leaves them: the window's, less all that is
// above them (the header and its banners, the controls, the numbers and the legend, which wrap
// and grow with what they show) and less the event bar kept at the screen's foot, so the bar
// never lies over them or their time labels. Measured, not assumed: a ResizeObserver on each of
// those measures again when one changes size, as a change of the window's size does. The height
// goes to style.css as --room, which bounds it; presentation mode sizes the traces by its own
// column and does not read it.
"use strict";

function fitTraces(holder, bar) {
  const fit = () => {
    const top = holder.getBoundingClientRect().top + window.scrollY;  // on the page, not the screen
    const b = bar.getBoundingClientRect();  // 0 high when hidden (a replay, presenting)
    const below = b.height ? b.height + parseFloat(getComputedStyle(bar).marginTop) : 0;
    const room = Math.floor(document.documentElement.clientHeight - top - below);
    holder.style.setProperty("--room", `${room}px`);
  };
  const watch = new ResizeObserver(fit);
  watch.observe(bar);
  for (let n = holder; n !== document.body; n = n.parentElement) {  // all that comes before it
    for (let s = n.previousElementSibling; s; s = s.previousElementSibling) watch.observe(s);
  }
  window.addEventListener("resize", fit);
}
