/* Runs a firmware ELF for an ATmega328P at 16 MHz in simavr with HX711 load-cell amplifiers
 * modelled on its pins, and its UART0 on a pseudo-terminal (firmware_bridge/firmware/README.md).
 *
 *   hx711_sim FIRMWARE.elf SECONDS
 *
 * Prints "pty PATH" on stdout (after what simavr prints), waits for a line on stdin (the reader has
 * opened it), runs SECONDS of simulated time, then keeps the pseudo-terminal open until stdin
 * closes. Each model converts every 12.5 ms (80 samples/s, RATE pin high): conversion k of
 * cell c is hx711_count(c, k), a known sequence the host checks the frames against. On each
 * rising edge of SCK it puts the next bit (MSB first) on DOUT; the 25th pulse ends the reading
 * (channel A, gain 128 next) and DOUT stays high until the next conversion.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avr_ioport.h"
#include "sim_avr.h"
#include "sim_cycle_timers.h"
#include "sim_elf.h"
#include "sim_time.h"
#include "uart_pty.h"

#define CELLS 2
#define PERIOD_US 12500
static const int DOUT_PIN[CELLS] = {2, 4}; /* Arduino D2, D4 = PD2, PD4 */
static const int SCK_PIN[CELLS] = {3, 5};  /* Arduino D3, D5 = PD3, PD5 */

/* Conversion k of cell c: a 24-bit two's complement count, positive and negative in turn. */
static int32_t hx711_count(int cell, uint32_t k) {
  uint32_t raw = (k * 40503u + (uint32_t)cell * 5000011u) & 0xFFFFFFu;
  return (raw & 0x800000u) ? (int32_t)(raw | 0xFF000000u) : (int32_t)raw;
}

typedef struct {
  avr_t *avr;
  avr_irq_t *dout;
  int cell;
  uint32_t k;     /* conversions done */
  uint32_t word;  /* the latched conversion, 24 bits */
  int bit;        /* bits clocked out of it; -1: no conversion waiting */
  int sck;        /* SCK's last level */
} hx711_t;

static avr_cycle_count_t convert(avr_t *avr, avr_cycle_count_t when, void *param) {
  hx711_t *hx = param;
  hx->word = (uint32_t)hx711_count(hx->cell, hx->k++) & 0xFFFFFFu;
  hx->bit = 0;
  avr_raise_irq(hx->dout, 0); /* DOUT low: ready */
  return when + avr_usec_to_cycles(avr, PERIOD_US);
}

static void sck_changed(struct avr_irq_t *irq, uint32_t value, void *param) {
  hx711_t *hx = param;
  int rising = value && !hx->sck;
  hx->sck = value != 0;
  if (!rising || hx->bit < 0) return;
  if (hx->bit < 24) {
    avr_raise_irq(hx->dout, (hx->word >> (23 - hx->bit)) & 1u);
    hx->bit++;
  } else { /* the 25th pulse */
    avr_raise_irq(hx->dout, 1);
    hx->bit = -1;
  }
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s FIRMWARE.elf SECONDS\n", argv[0]);
    return 2;
  }
  elf_firmware_t fw;
  memset(&fw, 0, sizeof fw);
  if (elf_read_firmware(argv[1], &fw) != 0) {
    fprintf(stderr, "hx711_sim: cannot read %s\n", argv[1]);
    return 1;
  }
  strcpy(fw.mmcu, "atmega328p");
  fw.frequency = 16000000;
  avr_t *avr = avr_make_mcu_by_name(fw.mmcu);
  if (!avr) return 1;
  avr_init(avr);
  avr->log = LOG_ERROR;
  avr_load_firmware(avr, &fw);
  avr->frequency = fw.frequency;

  static hx711_t cells[CELLS];
  for (int c = 0; c < CELLS; c++) {
    hx711_t *hx = &cells[c];
    hx->avr = avr;
    hx->cell = c;
    hx->bit = -1;
    hx->dout = avr_io_getirq(avr, AVR_IOCTL_IOPORT_GETIRQ('D'), DOUT_PIN[c]);
    avr_raise_irq(hx->dout, 1); /* converting: not ready */
    avr_irq_register_notify(avr_io_getirq(avr, AVR_IOCTL_IOPORT_GETIRQ('D'), SCK_PIN[c]),
                            sck_changed, hx);
    avr_cycle_timer_register_usec(avr, PERIOD_US, convert, hx);
  }

  static uart_pty_t pty;
  uart_pty_init(avr, &pty);
  uart_pty_connect(&pty, '0');
  printf("pty %s\n", pty.port[0].slavename); /* after simavr's own lines */
  fflush(stdout);
  int ch;
  while ((ch = getchar()) != EOF && ch != '\n') {
  }

  avr_cycle_count_t end = avr_usec_to_cycles(avr, (uint64_t)(atof(argv[2]) * 1e6));
  int state = cpu_Running;
  while (avr->cycle < end && state != cpu_Done && state != cpu_Crashed) state = avr_run(avr);
  fprintf(stderr, "hx711_sim: %.3f s simulated, %u conversions per cell\n",
          (double)avr->cycle / avr->frequency, cells[0].k);
  while ((ch = getchar()) != EOF) {
  }
  uart_pty_stop(&pty);
  return state == cpu_Crashed;
}
