/* Passes over text that numpy makes several of: built where a C compiler is at hand
 * (setup.py; the extension is optional), and used through firmware_bridge.native when it is.
 * Each either does the whole job or says it cannot (None), and the numpy code then does it as
 * before: what a line decodes to, and what the store keeps, never depend on whether this was
 * built.
 *
 * read_decimals(body, delim, nfields): every line of body as nfields float64s, when each field
 *   is a plain decimal (an optional '-', digits with at most one '.', 1-15 digits; after a
 *   delimiter, one space before it) and each line ends with LF. The digits make an integer below 10**15 and the decimals a power of ten
 *   up to 1e15, both exact float64s, so their IEEE quotient is the float64 nearest the text:
 *   what Python's float() returns. -0 reads as 0, as in the numpy readers.
 * crlf_to_lf(body): body with the CR of each CRLF taken out; None when a CR is not before a LF.
 * only(body, allowed): whether every byte of body is one of allowed's (bytes.translate's check,
 *   without making the bytes it would delete).
 *
 * nibbles(data): data, when it is not empty and holds at most 16 distinct byte values (a text
 *   log's digits, signs, delimiters and line ends), as [n][the n values][odd][a nibble per
 *   byte, the first of each pair in the low half]: half the bytes for the compressor after it.
 *   None otherwise.
 * unnibbles(blob): the data nibbles() was given (ValueError for a blob it did not make).
 *
 * All let go of the GIL while they run, so an import's other threads go on beside them.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define MAX_DIGITS 15

static const double POW10[MAX_DIGITS + 1] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};

/* The digits from p on as an integer (at most 19 of them are exact; callers take 15); p moves
 * past them. The body's last byte is a LF, so a run of digits always ends inside it. */
static inline uint64_t digits_at(const unsigned char **p)
{
    const unsigned char *q = *p;
    uint64_t v = 0;
    unsigned d;
    while ((d = (unsigned)*q - '0') < 10) {
        v = v * 10 + d;
        q++;
    }
    *p = q;
    return v;
}

/* Fills out[nlines * nfields]; 0 when every line is nfields plain decimals, -1 otherwise.
 * ``end[-1]`` is a LF and the body holds nlines of them, and the delimiter is none of LF, '-',
 * '.' or a digit (read_decimals refuses those), so a field's bytes always end inside the body:
 * a line of other fields than nfields is refused at the first terminator that does not fit. */
static int parse_lines(const unsigned char *p, const unsigned char *end, unsigned char delim,
                       Py_ssize_t nfields, Py_ssize_t nlines, double *out)
{
    for (Py_ssize_t line = 0; line < nlines; line++) {
        for (Py_ssize_t f = 0; f < nfields; f++) {
            if (p >= end)
                return -1;
            p += f > 0 && *p == ' ';  /* one space after a delimiter, as "1, 2" sends */
            int neg = *p == '-';
            p += neg;
            const unsigned char *start = p;
            uint64_t v = digits_at(&p);
            Py_ssize_t whole = p - start, decimals = 0;
            if (*p == '.') {
                const unsigned char *dot = ++p;
                uint64_t frac = digits_at(&p);
                decimals = p - dot;
                if (whole + decimals <= MAX_DIGITS)
                    v = v * (uint64_t)POW10[decimals] + frac;
            }
            if (whole + decimals == 0 || whole + decimals > MAX_DIGITS)
                return -1;
            double x = (double)v;
            if (decimals)
                x /= POW10[decimals];
            *out++ = (neg && v) ? -x : x;
            if (*p++ != (f + 1 < nfields ? delim : '\n'))
                return -1;
        }
    }
    return p == end ? 0 : -1;
}

static PyObject *read_decimals(PyObject *self, PyObject *args)
{
    Py_buffer buf;
    unsigned char delim;
    Py_ssize_t nfields;
    if (!PyArg_ParseTuple(args, "y*bn", &buf, &delim, &nfields))
        return NULL;
    const unsigned char *p = buf.buf, *end = p + buf.len;
    int delim_ok = nfields == 1 || !(delim == '\n' || delim == '-' || delim == '.' ||
                                     (delim >= '0' && delim <= '9'));
    if (buf.len == 0 || end[-1] != '\n' || nfields < 1 || !delim_ok) {
        PyBuffer_Release(&buf);
        Py_RETURN_NONE;
    }
    Py_ssize_t nlines = 0;
    Py_BEGIN_ALLOW_THREADS
    for (const unsigned char *q = p; (q = memchr(q, '\n', end - q)) != NULL; q++)
        nlines++;
    Py_END_ALLOW_THREADS
    Py_ssize_t size = nlines * nfields * (Py_ssize_t)sizeof(double);
    PyObject *values = PyByteArray_FromStringAndSize(NULL, size);
    if (values == NULL) {
        PyBuffer_Release(&buf);
        return NULL;
    }
    double *out = (double *)PyByteArray_AS_STRING(values);
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = parse_lines(p, end, delim, nfields, nlines, out);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&buf);
    if (rc != 0) {
        Py_DECREF(values);
        Py_RETURN_NONE;
    }
    return values;
}

static PyObject *crlf_to_lf(PyObject *self, PyObject *args)
{
    Py_buffer buf;
    if (!PyArg_ParseTuple(args, "y*", &buf))
        return NULL;
    const unsigned char *p = buf.buf, *end = p + buf.len;
    PyObject *text = PyBytes_FromStringAndSize(NULL, buf.len);
    if (text == NULL) {
        PyBuffer_Release(&buf);
        return NULL;
    }
    unsigned char *start = (unsigned char *)PyBytes_AS_STRING(text), *o = start;
    int lone = 0;
    Py_BEGIN_ALLOW_THREADS
    while (p < end) {
        const unsigned char *cr = memchr(p, '\r', end - p);
        if (cr == NULL) {
            memcpy(o, p, end - p);
            o += end - p;
            break;
        }
        if (cr + 1 == end || cr[1] != '\n') {
            lone = 1;
            break;
        }
        memcpy(o, p, cr - p);
        o += cr - p;
        p = cr + 1;
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&buf);
    if (lone) {
        Py_DECREF(text);
        Py_RETURN_NONE;
    }
    if (_PyBytes_Resize(&text, o - start) < 0)
        return NULL;
    return text;
}

static PyObject *only(PyObject *self, PyObject *args)
{
    Py_buffer buf, set;
    if (!PyArg_ParseTuple(args, "y*y*", &buf, &set))
        return NULL;
    unsigned char allowed[256] = {0};
    const unsigned char *s = set.buf;
    for (Py_ssize_t i = 0; i < set.len; i++)
        allowed[s[i]] = 1;
    const unsigned char *p = buf.buf, *end = p + buf.len;
    unsigned char all = 1;
    Py_BEGIN_ALLOW_THREADS
    for (; p < end; p++)
        all &= allowed[*p];
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&buf);
    PyBuffer_Release(&set);
    return PyBool_FromLong(all);
}

static PyObject *nibbles(PyObject *self, PyObject *args)
{
    Py_buffer buf;
    if (!PyArg_ParseTuple(args, "y*", &buf))
        return NULL;
    const unsigned char *p = buf.buf;
    Py_ssize_t n = buf.len, half = (n + 1) / 2;
    unsigned char seen[256] = {0}, index[256] = {0}, table[16];
    int count = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++)
        seen[p[i]] = 1;
    Py_END_ALLOW_THREADS
    for (int b = 0; b < 256; b++) {
        if (!seen[b])
            continue;
        if (count == 16) {
            PyBuffer_Release(&buf);
            Py_RETURN_NONE;
        }
        index[b] = (unsigned char)count;
        table[count++] = (unsigned char)b;
    }
    if (count == 0) {  /* nothing to pack */
        PyBuffer_Release(&buf);
        Py_RETURN_NONE;
    }
    PyObject *blob = PyBytes_FromStringAndSize(NULL, 2 + count + half);
    if (blob == NULL) {
        PyBuffer_Release(&buf);
        return NULL;
    }
    unsigned char *o = (unsigned char *)PyBytes_AS_STRING(blob);
    o[0] = (unsigned char)count;
    memcpy(o + 1, table, count);
    o[1 + count] = (unsigned char)(n & 1);
    o += 2 + count;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i + 1 < n; i += 2)
        *o++ = (unsigned char)(index[p[i]] | (index[p[i + 1]] << 4));
    if (n & 1)
        *o = index[p[n - 1]];
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&buf);
    return blob;
}

static PyObject *unnibbles(PyObject *self, PyObject *args)
{
    Py_buffer buf;
    if (!PyArg_ParseTuple(args, "y*", &buf))
        return NULL;
    const unsigned char *p = buf.buf;
    Py_ssize_t len = buf.len;
    int count = len ? p[0] : 0;
    if (len < 2 || count < 1 || count > 16 || len < 2 + count || p[1 + count] > 1 ||
        (p[1 + count] && len == 2 + count)) {
        PyBuffer_Release(&buf);
        PyErr_SetString(PyExc_ValueError, "not a nibble-packed blob");
        return NULL;
    }
    unsigned char table[16] = {0};
    memcpy(table, p + 1, count);
    int odd = p[1 + count];
    const unsigned char *q = p + 2 + count;
    Py_ssize_t half = len - 2 - count, n = 2 * half - odd;
    PyObject *data = PyBytes_FromStringAndSize(NULL, n);
    if (data == NULL) {
        PyBuffer_Release(&buf);
        return NULL;
    }
    unsigned char *o = (unsigned char *)PyBytes_AS_STRING(data);
    unsigned char pairs[256][2];  /* each packed byte's two bytes, looked up at once */
    for (int b = 0; b < 256; b++) {
        pairs[b][0] = table[b & 15];
        pairs[b][1] = table[b >> 4];
    }
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n / 2; i++)
        memcpy(o + 2 * i, pairs[q[i]], 2);
    if (odd)
        o[n - 1] = table[q[half - 1] & 15];
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&buf);
    return data;
}

static PyMethodDef methods[] = {
    {"nibbles", nibbles, METH_VARARGS,
     "nibbles(data): data of at most 16 distinct byte values a nibble each, or None"},
    {"unnibbles", unnibbles, METH_VARARGS, "unnibbles(blob): the data nibbles() was given"},
    {"only", only, METH_VARARGS,
     "only(body, allowed): whether every byte of body is one of the bytes of allowed"},
    {"read_decimals", read_decimals, METH_VARARGS,
     "read_decimals(body, delim, nfields): the lines' plain decimals as float64 bytes, or None"},
    {"crlf_to_lf", crlf_to_lf, METH_VARARGS,
     "crlf_to_lf(body): body with each CRLF made LF, or None when a CR stands alone"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_ctext", "Text passes in C for the text decoders and the raw capture.",
    -1, methods,
};

PyMODINIT_FUNC PyInit__ctext(void)
{
    return PyModule_Create(&module);
}
