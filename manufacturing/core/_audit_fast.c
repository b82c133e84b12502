/* The plain rows of an audit range, checked in C: a compiled twin of audit_scan's row check for COPY text.
 *
 * Sealer(keys).plain_rows(buffer, position, previous_link, most, replayed) reads whole lines of COPY text from
 * `position` and stops before the first row that is not plainly sound: a keyed row whose content MAC and link
 * MAC hold under a key of the ring and whose link follows the row before. Such a row, and any row this code
 * cannot write exactly as the canonical encoder does (a time in another form, a null where text belongs, changes
 * that are not a plain JSON object), is left to the Python check, which decides it as it decides every row.
 * A row passes here only when both MACs match, so a text built differently can never make an altered row pass:
 * it can only send a sound row to the slower check.
 *
 * Each plain row's changes are replayed into `replayed` as audit_scan._replay does, each field kept as the JSON
 * text (bytes) of the value its change leaves. compact(replayed) then turns each record's fields, where all are
 * such texts, into the text of one JSON object, read once per record when the ranges are merged.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/crypto.h>
#include <openssl/sha.h>

#define FIELDS 14
#define MOST_DEPTH 64
#define MOST_KEYS 16
#define CACHE_SLOTS 4096
#define MOST_MEMBERS 64

typedef struct {
    char *data;
    size_t len, cap;
} Buffer;

typedef struct {
    size_t start, len;
    int null;
} Field;

typedef struct {
    const char *name, *value;
    size_t name_len, value_len;
} Member;

typedef struct {
    PyObject *text;
    const char *utf8;
    size_t len;
} Cached;

typedef struct {
    PyObject_HEAD
    int count;
    char *ids[MOST_KEYS];
    size_t id_lens[MOST_KEYS];
    SHA256_CTX inner[MOST_KEYS], outer[MOST_KEYS];
    Buffer text, fields;
    Cached cache[CACHE_SLOTS];
} Sealer;

static int reserve(Buffer *buffer, size_t more) {
    if (buffer->len + more <= buffer->cap) return 0;
    size_t cap = buffer->cap ? buffer->cap : 4096;
    while (cap < buffer->len + more) cap *= 2;
    char *data = realloc(buffer->data, cap);
    if (data == NULL) return -1;
    buffer->data = data;
    buffer->cap = cap;
    return 0;
}

static int put(Buffer *buffer, const char *bytes, size_t len) {
    if (reserve(buffer, len) < 0) return -1;
    memcpy(buffer->data + buffer->len, bytes, len);
    buffer->len += len;
    return 0;
}

#define PUT_LITERAL(buffer, literal) put((buffer), (literal), sizeof(literal) - 1)

/* A JSON string as json.encoder.encode_basestring writes it: quotes, backslash and control characters
 * escaped (lower-case \u00xx), everything else as it is. */
static int quote(Buffer *buffer, const char *text, size_t len) {
    static const char hex[] = "0123456789abcdef";
    static unsigned char plain[256];
    if (!plain[' ']) {
        for (int c = 0x20; c < 256; c++) plain[c] = c != '"' && c != '\\';
    }
    if (reserve(buffer, len * 6 + 2) < 0) return -1;
    char *out = buffer->data + buffer->len;
    *out++ = '"';
    for (size_t i = 0; i < len;) {
        size_t run = i;
        while (run < len && plain[(unsigned char)text[run]]) run++;
        memcpy(out, text + i, run - i);
        out += run - i;
        if (run == len) break;
        unsigned char c = (unsigned char)text[run];
        i = run + 1;
        *out++ = '\\';
        if (c == '"' || c == '\\') *out++ = (char)c;
        else if (c == '\n') *out++ = 'n';
        else if (c == '\r') *out++ = 'r';
        else if (c == '\t') *out++ = 't';
        else if (c == '\b') *out++ = 'b';
        else if (c == '\f') *out++ = 'f';
        else {
            memcpy(out, "u00", 3);
            out[3] = hex[c >> 4];
            out[4] = hex[c & 15];
            out += 5;
        }
    }
    *out++ = '"';
    buffer->len = (size_t)(out - buffer->data);
    return 0;
}

static int mac_matches(Sealer *self, int key, const char *text, size_t len, const char *stored, size_t stored_len) {
    static const char hex[] = "0123456789abcdef";
    unsigned char digest[SHA256_DIGEST_LENGTH];
    char written[2 * SHA256_DIGEST_LENGTH];
    SHA256_CTX context = self->inner[key];
    SHA256_Update(&context, text, len);
    SHA256_Final(digest, &context);
    context = self->outer[key];
    SHA256_Update(&context, digest, sizeof digest);
    SHA256_Final(digest, &context);
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++) {
        written[2 * i] = hex[digest[i] >> 4];
        written[2 * i + 1] = hex[digest[i] & 15];
    }
    return stored_len == sizeof written && CRYPTO_memcmp(written, stored, sizeof written) == 0;
}

/* Split one COPY line into its fourteen fields, unescaped (a backslash escapes what follows; \N alone is null);
 * 0 for a line of another shape. */
static int split_line(Sealer *self, const char *line, size_t len, Field *fields) {
    Buffer *out = &self->fields;
    out->len = 0;
    if (reserve(out, len) < 0) return -1;
    char *data = out->data;
    size_t at = 0, start = 0;
    for (int field = 0; field < FIELDS; field++) {
        if (start > len) return 0;
        const char *tab = memchr(line + start, '\t', len - start);
        if ((tab != NULL) != (field < FIELDS - 1)) return 0;
        size_t end = tab != NULL ? (size_t)(tab - line) : len;
        fields[field].null = end - start == 2 && line[start] == '\\' && line[start + 1] == 'N';
        fields[field].start = at;
        const char *from = line + start, *stop = line + end;
        while (!fields[field].null && from < stop) {
            const char *slash = memchr(from, '\\', (size_t)(stop - from));
            size_t run = (size_t)((slash != NULL ? slash : stop) - from);
            memcpy(data + at, from, run);
            at += run;
            if (slash == NULL) break;
            if (slash + 1 >= stop) return 0;
            char c = slash[1];
            switch (c) {
                case 'b': c = '\b'; break;
                case 'f': c = '\f'; break;
                case 'n': c = '\n'; break;
                case 'r': c = '\r'; break;
                case 't': c = '\t'; break;
                case 'v': c = '\v'; break;
                default: break;
            }
            data[at++] = c;
            from = slash + 2;
        }
        fields[field].len = at - fields[field].start;
        start = end + 1;
    }
    out->len = at;
    return 1;
}

#define TEXT(number) (self->fields.data + fields[number].start)
#define LEN(number) (fields[number].len)

static int is_integer(const char *text, size_t len) {
    size_t i = len > 0 && text[0] == '-' ? 1 : 0;
    if (i == len || len > 19) return 0;
    if (text[i] == '0' && len - i > 1) return 0;
    if (text[i] == '0' && i == 1) return 0;
    for (; i < len; i++)
        if (text[i] < '0' || text[i] > '9') return 0;
    return 1;
}

static int is_lower_hex(const char *text, size_t len) {
    for (size_t i = 0; i < len; i++)
        if (!((text[i] >= '0' && text[i] <= '9') || (text[i] >= 'a' && text[i] <= 'f'))) return 0;
    return 1;
}

static int digits_at(const char *text, const char *pattern, size_t len) {
    for (size_t i = 0; i < len; i++)
        if (pattern[i] == 'd' ? !(text[i] >= '0' && text[i] <= '9') : text[i] != pattern[i]) return 0;
    return 1;
}

/* A stored UTC time as PostgreSQL writes it in ISO style ("2026-12-02 02:15:36.12"), written as the seal covers
 * it (datetime.isoformat: "2026-12-02T02:15:36.120000+00:00", no fraction on a whole second); 0 for any other
 * form (a year before 1 or after 9999, another DateStyle), which the Python check reads. */
static int utc_text(const char *stored, size_t len, char *written) {
    static const char pattern[] = "dddd-dd-dd dd:dd:dd";
    if (len < 19 || !digits_at(stored, pattern, 19)) return 0;
    memcpy(written, stored, 19);
    written[10] = 'T';
    size_t at = 19;
    if (len > 19) {
        size_t fraction = len - 20;
        if (stored[19] != '.' || fraction < 1 || fraction > 6 || !digits_at(stored + 20, "dddddd", fraction)) return 0;
        written[19] = '.';
        memcpy(written + 20, stored + 20, fraction);
        memset(written + 20 + fraction, '0', 6 - fraction);
        at = 26;
    }
    memcpy(written + at, "+00:00", 6);
    return (int)(at + 6);
}

/* The row's content text as canonical(["audit row", time, user_id, ...]) writes it; 0 where it cannot. */
static int content_text(Sealer *self, Field *fields) {
    Buffer *out = &self->text;
    char time[32];
    int time_len = fields[1].null ? 0 : utc_text(TEXT(1), LEN(1), time);
    out->len = 0;
    if (time_len == 0) return 0;
    if (fields[2].null == 0 && !is_integer(TEXT(2), LEN(2))) return 0;
    for (int number = 3; number <= 5; number++)
        if (fields[number].null) return 0;
    if (fields[8].null) return 0;
    if (PUT_LITERAL(out, "[\"audit row\",") < 0 || quote(out, time, (size_t)time_len) < 0 || PUT_LITERAL(out, ",") < 0)
        return -1;
    if (fields[2].null ? PUT_LITERAL(out, "null") < 0 : put(out, TEXT(2), LEN(2)) < 0) return -1;
    for (int number = 3; number <= 9; number++) {
        if (PUT_LITERAL(out, ",") < 0) return -1;
        if (fields[number].null ? PUT_LITERAL(out, "null") < 0 : quote(out, TEXT(number), LEN(number)) < 0)
            return -1;
    }
    if (PUT_LITERAL(out, "]") < 0) return -1;
    return 1;
}

/* ---- the top level of a JSON object, each member's value kept as its text ---- */

static size_t skip_space(const char *text, size_t i, size_t len) {
    while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r')) i++;
    return i;
}

static int is_hex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Past one JSON string starting at text[i] == '"'; 0 on anything json.loads would refuse. `plain` is cleared
 * when the string holds an escape. */
static size_t skip_string(const char *text, size_t i, size_t len, int *plain) {
    static unsigned char stops[256];
    if (!stops['"']) {
        for (int c = 0; c < 0x20; c++) stops[c] = 1;
        stops['"'] = stops['\\'] = 1;
    }
    for (i++; i < len; i++) {
        while (i < len && !stops[(unsigned char)text[i]]) i++;
        if (i >= len) return 0;
        unsigned char c = (unsigned char)text[i];
        if (c == '"') return i + 1;
        if (c < 0x20) return 0;
        *plain = 0;
        if (++i >= len) return 0;
        c = (unsigned char)text[i];
        if (c == 'u') {
            if (i + 4 >= len || !is_hex(text[i + 1]) || !is_hex(text[i + 2]) || !is_hex(text[i + 3]) ||
                !is_hex(text[i + 4]))
                return 0;
            i += 4;
        } else if (!strchr("\"\\/bfnrt", c) || c == 0) {
            return 0;
        }
    }
    return 0;
}

static size_t skip_digits(const char *text, size_t i, size_t len) {
    while (i < len && text[i] >= '0' && text[i] <= '9') i++;
    return i;
}

static size_t skip_number(const char *text, size_t i, size_t len) {
    if (i < len && text[i] == '-') i++;
    if (i >= len) return 0;
    if (text[i] == '0') i++;
    else if (text[i] >= '1' && text[i] <= '9') i = skip_digits(text, i, len);
    else return 0;
    if (i < len && text[i] == '.') {
        size_t after = skip_digits(text, i + 1, len);
        if (after == i + 1) return 0;
        i = after;
    }
    if (i < len && (text[i] == 'e' || text[i] == 'E')) {
        i++;
        if (i < len && (text[i] == '+' || text[i] == '-')) i++;
        size_t after = skip_digits(text, i, len);
        if (after == i) return 0;
        i = after;
    }
    return i;
}

/* Past one JSON value starting at text[i]; 0 on anything json.loads would refuse or this code does not read. */
static size_t skip_value(const char *text, size_t i, size_t len, int depth) {
    int plain = 1;
    if (i >= len || depth > MOST_DEPTH) return 0;
    char c = text[i];
    if (c == '"') return skip_string(text, i, len, &plain);
    if (c == '{' || c == '[') {
        char close = c == '{' ? '}' : ']';
        i = skip_space(text, i + 1, len);
        if (i < len && text[i] == close) return i + 1;
        for (;;) {
            if (c == '{') {
                if (i >= len || text[i] != '"' || !(i = skip_string(text, i, len, &plain))) return 0;
                i = skip_space(text, i, len);
                if (i >= len || text[i] != ':') return 0;
                i = skip_space(text, i + 1, len);
            }
            if (!(i = skip_value(text, i, len, depth + 1))) return 0;
            i = skip_space(text, i, len);
            if (i >= len) return 0;
            if (text[i] == close) return i + 1;
            if (text[i] != ',') return 0;
            i = skip_space(text, i + 1, len);
        }
    }
    if (len - i >= 4 && memcmp(text + i, "true", 4) == 0) return i + 4;
    if (len - i >= 5 && memcmp(text + i, "false", 5) == 0) return i + 5;
    if (len - i >= 4 && memcmp(text + i, "null", 4) == 0) return i + 4;
    return skip_number(text, i, len);
}

/* A short text as a str, from a cache of the texts seen last (names of fields, kinds and ids of records recur
 * on every row): a new reference, or NULL with the error set (a text that is no UTF-8). */
static PyObject *cached_text(Sealer *self, const char *text, size_t len) {
    uint32_t hash = 2166136261u;
    for (size_t i = 0; i < len; i++) hash = (hash ^ (unsigned char)text[i]) * 16777619u;
    Cached *slot = &self->cache[hash % CACHE_SLOTS];
    if (slot->text != NULL && slot->len == len && memcmp(slot->utf8, text, len) == 0) {
        Py_INCREF(slot->text);
        return slot->text;
    }
    PyObject *made = PyUnicode_DecodeUTF8(text, (Py_ssize_t)len, "strict");
    if (made == NULL) return NULL;
    Py_ssize_t made_len;
    const char *utf8 = PyUnicode_AsUTF8AndSize(made, &made_len);
    if (utf8 == NULL) {
        Py_DECREF(made);
        return NULL;
    }
    Py_XSETREF(slot->text, made);
    slot->utf8 = utf8;
    slot->len = (size_t)made_len;
    Py_INCREF(made);
    return made;
}

/* The members of a JSON object, each name and value as a span of the text: their count, or -1 where this code
 * does not read the text (a name with an escape, NaN, more than MOST_MEMBERS members, anything json.loads
 * refuses): the Python check then reads the row. */
static int read_members(const char *text, size_t len, Member *found) {
    int count = 0;
    size_t i = skip_space(text, 0, len);
    if (i >= len || text[i] != '{') return -1;
    i = skip_space(text, i + 1, len);
    if (i < len && text[i] == '}') return skip_space(text, i + 1, len) == len ? 0 : -1;
    for (;;) {
        int plain = 1;
        if (count == MOST_MEMBERS || i >= len || text[i] != '"') return -1;
        size_t name = i + 1, after = skip_string(text, i, len, &plain);
        if (!after || !plain) return -1;
        i = skip_space(text, after, len);
        if (i >= len || text[i] != ':') return -1;
        size_t value = skip_space(text, i + 1, len);
        if (!(i = skip_value(text, value, len, 1))) return -1;
        found[count++] = (Member){.name = text + name, .name_len = after - 1 - name, .value = text + value,
                                  .value_len = i - value};
        i = skip_space(text, i, len);
        if (i < len && text[i] == '}') return skip_space(text, i + 1, len) == len ? count : -1;
        if (i >= len || text[i] != ',') return -1;
        i = skip_space(text, i + 1, len);
    }
}

/* The text of the value a change leaves, as audit_scan.recorded_value reads it: of an object of changes its
 * last "sealed" member, else its last "new" member, else null; any other value is itself. 0 where this code
 * does not read the change (the Python check then reads the row). */
static int recorded_span(Member *member) {
    if (member->value_len == 0 || member->value[0] != '{') return 1;
    Member inner[MOST_MEMBERS];
    int count = read_members(member->value, member->value_len, inner);
    if (count < 0) return 0;
    int sealed = -1, made = -1;
    for (int at = 0; at < count; at++) {
        if (inner[at].name_len == 6 && memcmp(inner[at].name, "sealed", 6) == 0) sealed = at;
        if (inner[at].name_len == 3 && memcmp(inner[at].name, "new", 3) == 0) made = at;
    }
    int chosen = sealed >= 0 ? sealed : made;
    if (chosen < 0) {
        member->value = "null";
        member->value_len = 4;
    } else {
        member->value = inner[chosen].value;
        member->value_len = inner[chosen].value_len;
    }
    return 1;
}

/* Set each member's name to the text (bytes) of the value its change leaves, in order, as dict.update does. */
static int set_members(Sealer *self, const Member *found, int count, PyObject *values) {
    for (int member = 0; member < count; member++) {
        PyObject *key = cached_text(self, found[member].name, found[member].name_len);
        if (key == NULL) return -1;
        PyObject *written = PyBytes_FromStringAndSize(found[member].value, (Py_ssize_t)found[member].value_len);
        int set = written == NULL ? -1 : PyDict_SetItem(values, key, written);
        Py_DECREF(key);
        Py_XDECREF(written);
        if (set < 0) return -1;
    }
    return 0;
}

/* ---- replay: audit_scan._replay for a plain row ---- */

static int replay_kind(const char *action, size_t action_len, const char *entity_type, size_t type_len) {
    size_t dot = action_len;
    while (dot > 0 && action[dot - 1] != '.') dot--;
    size_t entity_len = dot > 0 ? dot - 1 : 0;
    const char *verb = action + dot;
    size_t verb_len = action_len - dot;
    if (entity_len != type_len || memcmp(action, entity_type, type_len) != 0) return 0;
    if (verb_len == 7 && memcmp(verb, "created", 7) == 0) return 'c';
    if (verb_len == 7 && memcmp(verb, "updated", 7) == 0) return 'u';
    if (verb_len == 7 && memcmp(verb, "deleted", 7) == 0) return 'd';
    return 0;
}

static PyObject *record_key(Sealer *self, Field *fields) {
    PyObject *kind = cached_text(self, TEXT(5), LEN(5));
    if (kind == NULL) return NULL;
    PyObject *id = fields[6].null ? Py_NewRef(Py_None) : cached_text(self, TEXT(6), LEN(6));
    PyObject *key = id == NULL ? NULL : PyTuple_Pack(2, kind, id);
    Py_DECREF(kind);
    Py_XDECREF(id);
    return key;
}

/* 1 replayed, 0 left to the Python check (changes it does not read), -1 on error. */
static int replay(Sealer *self, Field *fields, PyObject *replayed) {
    int kind = replay_kind(TEXT(4), LEN(4), TEXT(5), LEN(5));
    if (kind == 0) return 1;
    Member found[MOST_MEMBERS];
    int count = kind == 'd' ? 0 : read_members(TEXT(8), LEN(8), found);
    if (count < 0) return 0;
    for (int member = 0; member < count; member++)
        if (!recorded_span(&found[member])) return 0;
    PyObject *key = record_key(self, fields);
    if (key == NULL) {
        if (!PyErr_ExceptionMatches(PyExc_UnicodeDecodeError)) return -1;
        PyErr_Clear();
        return 0;
    }
    PyObject *entry = NULL, *values = NULL;
    int result = -1;
    if (kind == 'd') {
        entry = PyTuple_Pack(2, Py_True, Py_None);
        if (entry != NULL && PyDict_SetItem(replayed, key, entry) == 0) result = 1;
        goto done;
    }
    PyObject *existing = PyDict_GetItemWithError(replayed, key);
    if (existing == NULL && PyErr_Occurred()) goto done;
    int fresh = 0;
    if (existing != NULL) {
        if (!PyTuple_Check(existing) || PyTuple_GET_SIZE(existing) != 2) {
            PyErr_SetString(PyExc_TypeError, "a replayed record is (fresh, values)");
            goto done;
        }
        fresh = PyObject_IsTrue(PyTuple_GET_ITEM(existing, 0));
        values = Py_NewRef(PyTuple_GET_ITEM(existing, 1));
    }
    if (kind == 'c' || values == NULL || values == Py_None) {
        Py_XSETREF(values, PyDict_New());
        if (values == NULL) goto done;
        entry = PyTuple_Pack(2, (fresh || kind == 'c') ? Py_True : Py_False, values);
        if (entry == NULL || PyDict_SetItem(replayed, key, entry) < 0) goto done;
    }
    if (!PyDict_Check(values)) {
        PyErr_SetString(PyExc_TypeError, "a replayed record's values are a dict");
        goto done;
    }
    if (set_members(self, found, count, values) < 0) goto done;
    result = 1;
done:
    Py_DECREF(key);
    Py_XDECREF(entry);
    Py_XDECREF(values);
    return result;
}

/* ---- the row check ---- */

static int key_of(Sealer *self, const char *id, size_t len) {
    for (int key = 0; key < self->count; key++)
        if (self->id_lens[key] == len && memcmp(self->ids[key], id, len) == 0) return key;
    return -1;
}

/* 1 when the row is plainly sound (and replayed), 0 when the Python check must read it, -1 on error. */
static int plain_row(Sealer *self, const char *line, size_t len, const char *previous, size_t previous_len,
                     PyObject *replayed, Field *fields) {
    int split = split_line(self, line, len, fields);
    if (split <= 0) return split;
    if (fields[0].null || !is_integer(TEXT(0), LEN(0))) return 0;
    for (int number = 10; number <= 13; number++)
        if (fields[number].null) return 0;
    int key = key_of(self, TEXT(10), LEN(10));
    if (key < 0) return 0;
    if (LEN(12) != previous_len || memcmp(TEXT(12), previous, previous_len) != 0 || !is_lower_hex(TEXT(12), LEN(12)))
        return 0;
    int written = content_text(self, fields);
    if (written <= 0) return written;
    if (!mac_matches(self, key, self->text.data, self->text.len, TEXT(11), LEN(11))) return 0;
    Buffer *out = &self->text;
    out->len = 0;
    if (PUT_LITERAL(out, "[\"audit link\",\"") < 0 || put(out, TEXT(12), LEN(12)) < 0 ||
        PUT_LITERAL(out, "\",\"") < 0 || put(out, TEXT(11), LEN(11)) < 0 || PUT_LITERAL(out, "\"]") < 0)
        return -1;
    if (!mac_matches(self, key, out->data, out->len, TEXT(13), LEN(13))) return 0;
    return replay(self, fields, replayed);
}

static PyObject *Sealer_plain_rows(Sealer *self, PyObject *args) {
    PyObject *lines, *replayed;
    Py_ssize_t position, most;
    const char *previous;
    Py_ssize_t previous_len;
    if (!PyArg_ParseTuple(args, "O!nz#nO!", &PyList_Type, &lines, &position, &previous, &previous_len, &most,
                          &PyDict_Type, &replayed))
        return NULL;
    Py_ssize_t count = 0, total = PyList_GET_SIZE(lines);
    size_t id_len = 0;
    char link[64], row_id[21];
    if (position < 0 || position > total) {
        PyErr_SetString(PyExc_ValueError, "position outside the lines");
        return NULL;
    }
    while (previous != NULL && count < most && position < total) {
        Py_buffer line;
        if (PyObject_GetBuffer(PyList_GET_ITEM(lines, position), &line, PyBUF_SIMPLE) < 0) return NULL;
        size_t line_len = (size_t)line.len;
        if (line_len > 0 && ((const char *)line.buf)[line_len - 1] == '\n') line_len--;
        Field fields[FIELDS];
        int plain = plain_row(self, line.buf, line_len, previous, (size_t)previous_len, replayed, fields);
        PyBuffer_Release(&line);
        if (plain < 0) {
            if (!PyErr_Occurred()) PyErr_NoMemory();
            return NULL;
        }
        if (plain == 0) break;
        /* the row's id and link, kept before the next line reuses the buffers */
        memcpy(link, TEXT(13), 64);
        id_len = LEN(0);
        memcpy(row_id, TEXT(0), id_len);
        previous = link;
        previous_len = 64;
        count++;
        position++;
    }
    if (count == 0) return Py_BuildValue("(nnOO)", position, count, Py_None, Py_None);
    row_id[id_len] = '\0';
    PyObject *number = PyLong_FromString(row_id, NULL, 10);
    if (number == NULL) return NULL;
    return Py_BuildValue("(nnNs#)", position, count, number, link, (Py_ssize_t)64);
}

static int Sealer_init(Sealer *self, PyObject *args, PyObject *kwargs) {
    PyObject *keys;
    if (!PyArg_ParseTuple(args, "O!", &PyDict_Type, &keys)) return -1;
    for (; self->count > 0; self->count--) PyMem_Free(self->ids[self->count - 1]);
    if (PyDict_GET_SIZE(keys) > MOST_KEYS) {
        PyErr_SetString(PyExc_ValueError, "too many keys");
        return -1;
    }
    PyObject *name, *key;
    Py_ssize_t at = 0;
    while (PyDict_Next(keys, &at, &name, &key)) {
        Py_ssize_t name_len, key_len;
        const char *name_text = PyUnicode_AsUTF8AndSize(name, &name_len);
        char *key_bytes;
        if (name_text == NULL || PyBytes_AsStringAndSize(key, &key_bytes, &key_len) < 0) return -1;
        unsigned char block[64] = {0}, pad[64];
        if (key_len > 64) SHA256((unsigned char *)key_bytes, (size_t)key_len, block);
        else memcpy(block, key_bytes, (size_t)key_len);
        int index = self->count;
        self->ids[index] = PyMem_Malloc((size_t)name_len + 1);
        if (self->ids[index] == NULL) return -1;
        memcpy(self->ids[index], name_text, (size_t)name_len);
        self->id_lens[index] = (size_t)name_len;
        for (int i = 0; i < 64; i++) pad[i] = block[i] ^ 0x36;
        SHA256_Init(&self->inner[index]);
        SHA256_Update(&self->inner[index], pad, 64);
        for (int i = 0; i < 64; i++) pad[i] = block[i] ^ 0x5C;
        SHA256_Init(&self->outer[index]);
        SHA256_Update(&self->outer[index], pad, 64);
        OPENSSL_cleanse(block, sizeof block);
        OPENSSL_cleanse(pad, sizeof pad);
        self->count++;
    }
    return 0;
}

static void Sealer_dealloc(Sealer *self) {
    for (int key = 0; key < self->count; key++) PyMem_Free(self->ids[key]);
    OPENSSL_cleanse(self->inner, sizeof self->inner);
    OPENSSL_cleanse(self->outer, sizeof self->outer);
    for (int slot = 0; slot < CACHE_SLOTS; slot++) Py_CLEAR(self->cache[slot].text);
    free(self->text.data);
    free(self->fields.data);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMethodDef Sealer_methods[] = {
    {"plain_rows", (PyCFunction)Sealer_plain_rows, METH_VARARGS,
     "plain_rows(lines, position, previous_link, most, replayed) -> (position, count, last_id, last_link)"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject SealerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "manufacturing.core._audit_fast.Sealer",
    .tp_doc = "The audit keys' HMAC pads, prepared once, and the plain-row check of COPY text.",
    .tp_basicsize = sizeof(Sealer),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Sealer_init,
    .tp_dealloc = (destructor)Sealer_dealloc,
    .tp_methods = Sealer_methods,
};


/* ---- compact: a record's replayed fields as the text of one JSON object ---- */

/* A field's name may stand between quotes as it is: no quote, backslash or control character in it. */
static int plain_name(const char *name, Py_ssize_t len) {
    for (Py_ssize_t i = 0; i < len; i++)
        if (name[i] == '"' || name[i] == '\\' || (unsigned char)name[i] < 0x20) return 0;
    return 1;
}

/* The object text of a record's fields (str names, bytes values), a new reference; None where it cannot be
 * written (another kind of name or value: the Python replay's), NULL with the error set. */
static PyObject *object_text(PyObject *values, Buffer *out) {
    PyObject *name, *value;
    Py_ssize_t at = 0;
    out->len = 0;
    if (PUT_LITERAL(out, "{") < 0) return PyErr_NoMemory();
    while (PyDict_Next(values, &at, &name, &value)) {
        if (!PyUnicode_CheckExact(name) || !PyBytes_CheckExact(value)) Py_RETURN_NONE;
        Py_ssize_t name_len;
        const char *text = PyUnicode_AsUTF8AndSize(name, &name_len);
        if (text == NULL) return NULL;
        if (!plain_name(text, name_len)) Py_RETURN_NONE;
        if ((out->len > 1 && PUT_LITERAL(out, ",") < 0) || PUT_LITERAL(out, "\"") < 0 ||
            put(out, text, (size_t)name_len) < 0 || PUT_LITERAL(out, "\":") < 0 ||
            put(out, PyBytes_AS_STRING(value), (size_t)PyBytes_GET_SIZE(value)) < 0)
            return PyErr_NoMemory();
    }
    if (PUT_LITERAL(out, "}") < 0) return PyErr_NoMemory();
    return PyBytes_FromStringAndSize(out->data, (Py_ssize_t)out->len);
}

static PyObject *compact(PyObject *module, PyObject *replayed) {
    if (!PyDict_Check(replayed)) {
        PyErr_SetString(PyExc_TypeError, "compact(replayed): a dict of (fresh, values)");
        return NULL;
    }
    Buffer out = {0};
    PyObject *key, *entry;
    Py_ssize_t at = 0;
    while (PyDict_Next(replayed, &at, &key, &entry)) {
        if (!PyTuple_Check(entry) || PyTuple_GET_SIZE(entry) != 2 || !PyDict_Check(PyTuple_GET_ITEM(entry, 1)))
            continue;
        PyObject *text = object_text(PyTuple_GET_ITEM(entry, 1), &out);
        if (text == NULL) {
            free(out.data);
            return NULL;
        }
        if (text != Py_None) {
            PyObject *made = PyTuple_Pack(2, PyTuple_GET_ITEM(entry, 0), text);
            /* replacing the value of a key already there never resizes the dict being walked */
            if (made == NULL || PyDict_SetItem(replayed, key, made) < 0) {
                Py_XDECREF(made);
                Py_DECREF(text);
                free(out.data);
                return NULL;
            }
            Py_DECREF(made);
        }
        Py_DECREF(text);
    }
    free(out.data);
    Py_RETURN_NONE;
}

static PyMethodDef module_functions[] = {
    {"compact", (PyCFunction)compact, METH_O,
     "compact(replayed): each record's fields, where all are JSON texts, as the text of one JSON object"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_audit_fast",
    .m_doc = "The plain rows of an audit range, checked in C.",
    .m_size = -1,
    .m_methods = module_functions,
};

PyMODINIT_FUNC PyInit__audit_fast(void) {
    if (PyType_Ready(&SealerType) < 0) return NULL;
    PyObject *created = PyModule_Create(&module);
    if (created == NULL) return NULL;
    Py_INCREF(&SealerType);
    if (PyModule_AddObject(created, "Sealer", (PyObject *)&SealerType) < 0) {
        Py_DECREF(&SealerType);
        Py_DECREF(created);
        return NULL;
    }
    return created;
}
