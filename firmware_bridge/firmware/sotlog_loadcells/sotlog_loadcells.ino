// sotlog reference firmware: reads 1-4 HX711 load-cell amplifiers and sends each set of
// readings as one blockframe frame (docs/protocol.md): int32 counts, a sequence number,
// device time in microseconds and a CRC-32. The HX711s pace the frames: with their RATE pin
// high they convert 80 times a second.

#include <Arduino.h>

// ---- configuration -----------------------------------------------------------------------
#define NUM_CELLS 2                               // 1..4; the host profile needs as many channels
const uint8_t DOUT_PINS[NUM_CELLS] = {2, 4};     // HX711 DT/DOUT, one per cell
const uint8_t SCK_PINS[NUM_CELLS] = {3, 5};      // HX711 SCK/PD_SCK, one per cell
#define BAUD 115200
#define SOTLOG_SELFTEST 0  // 1: send the docs/protocol.md test vector once after reset

// ---- blockframe v1 layout (docs/protocol.md) ---------------------------------------------
const uint8_t SYNC0 = 0xC5, SYNC1 = 0x9A;
const uint8_t VERSION = 1, KIND_CHANNELS = 1, DTYPE_INT32 = 4;
const uint8_t HEADER_SIZE = 28, CRC_SIZE = 4, MAX_CHANNELS = 4;

static uint8_t frameBuf[HEADER_SIZE + 4 * MAX_CHANNELS + CRC_SIZE];
static uint32_t seq = 0;
static uint32_t lastMicros = 0, microsWraps = 0;

static void put16(uint8_t *p, uint16_t v) {
  p[0] = v & 0xFF;
  p[1] = v >> 8;
}

static void put32(uint8_t *p, uint32_t v) {
  for (uint8_t i = 0; i < 4; i++) p[i] = (v >> (8 * i)) & 0xFF;
}

// CRC-32 exactly as Python's zlib.crc32: reflected polynomial 0xEDB88320, initial value and
// final XOR 0xFFFFFFFF. Bitwise, so no 1 KiB table in a small AVR's RAM.
static uint32_t crc32(const uint8_t *data, uint16_t len) {
  uint32_t crc = 0xFFFFFFFFUL;
  for (uint16_t i = 0; i < len; i++) {
    crc ^= data[i];
    for (uint8_t bit = 0; bit < 8; bit++) {
      crc = (crc >> 1) ^ (0xEDB88320UL & (0UL - (crc & 1UL)));
    }
  }
  return crc ^ 0xFFFFFFFFUL;
}

// micros() wraps every 71.6 minutes; count the wraps so device time never goes back.
// Called at least once per frame (12.5 ms), far more often than it wraps.
static void micros64(uint32_t *low, uint32_t *high) {
  uint32_t now = micros();
  if (now < lastMicros) microsWraps++;
  lastMicros = now;
  *low = now;
  *high = microsWraps;
}

// Fill frameBuf with one frame of `count` int32 values; returns the frame's length in bytes.
static uint16_t buildFrame(const int32_t *values, uint8_t count, uint32_t frameSeq,
                           uint32_t timeLow, uint32_t timeHigh) {
  uint8_t *p = frameBuf;
  uint16_t payloadLen = 4 * count;
  p[0] = SYNC0;
  p[1] = SYNC1;
  p[2] = VERSION;
  p[3] = KIND_CHANNELS;
  p[4] = DTYPE_INT32;
  p[5] = 0;                    // reserved
  put16(p + 6, count);         // dim0: channels
  put16(p + 8, 0);             // dim1: 0 for channels
  put16(p + 10, 0);            // reserved
  put32(p + 12, payloadLen);
  put32(p + 16, frameSeq);
  put32(p + 20, timeLow);      // device time, uint64 little-endian: low word first
  put32(p + 24, timeHigh);
  for (uint8_t i = 0; i < count; i++) put32(p + HEADER_SIZE + 4 * i, (uint32_t)values[i]);
  uint16_t body = HEADER_SIZE + payloadLen;
  put32(p + body, crc32(p, body));
  return body + CRC_SIZE;
}

static bool allReady() {
  for (uint8_t i = 0; i < NUM_CELLS; i++) {
    if (digitalRead(DOUT_PINS[i]) == HIGH) return false;
  }
  return true;
}

// One 24-bit two's complement reading, then one more clock pulse: channel A, gain 128 next.
// Interrupts stay off while SCK is high: held high for more than 60 us the HX711 powers down.
static int32_t readCell(uint8_t i) {
  uint32_t raw = 0;
  noInterrupts();
  for (uint8_t bit = 0; bit < 24; bit++) {
    digitalWrite(SCK_PINS[i], HIGH);
    delayMicroseconds(1);
    raw = (raw << 1) | (digitalRead(DOUT_PINS[i]) == HIGH ? 1UL : 0UL);
    digitalWrite(SCK_PINS[i], LOW);
    delayMicroseconds(1);
  }
  digitalWrite(SCK_PINS[i], HIGH);
  delayMicroseconds(1);
  digitalWrite(SCK_PINS[i], LOW);
  interrupts();
  if (raw & 0x800000UL) raw |= 0xFF000000UL;  // sign-extend 24 -> 32 bits
  return (int32_t)raw;
}

void setup() {
  Serial.begin(BAUD);
  for (uint8_t i = 0; i < NUM_CELLS; i++) {
    pinMode(DOUT_PINS[i], INPUT);
    pinMode(SCK_PINS[i], OUTPUT);
    digitalWrite(SCK_PINS[i], LOW);  // SCK low wakes the HX711 up
  }
#if SOTLOG_SELFTEST
  const int32_t vector[4] = {1, -2, 8388607, -8388608};
  uint16_t len = buildFrame(vector, 4, 7, 123456789UL, 0);
  Serial.write(frameBuf, len);  // must equal the 48 bytes of Example 1 in docs/protocol.md
#endif
}

void loop() {
  uint32_t timeLow, timeHigh;
  micros64(&timeLow, &timeHigh);  // also keeps the wrap count current while waiting
  if (!allReady()) return;
  int32_t counts[NUM_CELLS];
  for (uint8_t i = 0; i < NUM_CELLS; i++) counts[i] = readCell(i);
  uint16_t len = buildFrame(counts, NUM_CELLS, seq++, timeLow, timeHigh);
  Serial.write(frameBuf, len);
}
