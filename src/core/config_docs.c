/* Renders the property table as docs/configuration.md (`vigil config docs`),
 * so that the documentation is generated from the same rows the loader uses
 * and cannot drift from the code. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config_int.h"

static const struct {
    const char *name, *desc;
} section_docs[] = {
    {"log", "Logging: JSON lines on stderr."},
    {"http", "The HTTP API, Server-Sent Events and the dashboard."},
    {"bus", "The message bus between the stages."},
    {"store", "The warehouse: database, frame files, retention."},
    {"ingest", "Reading cameras: demux, decode, sampling, JPEG encoding."},
    {"preprocess", "Validation, the motion score and gating before the model."},
    {"infer", "Running the model on gated frames, micro-batched across cameras."},
    {"sink", "Writing results to the warehouse."},
    {"analytics", "Tracking objects across frames, zones and lines, events and per-minute "
                  "counts (docs/analytics.md). The zones and lines themselves are per camera: "
                  "`cameras[].zones` and `cameras[].lines` below."},
    {"limits", "Bounds on what comes from outside: frames and commands on the bus are "
               "written by whoever can reach it, cameras by whoever controls them. Sizes "
               "that are not settings (bus messages, configuration and model files) are "
               "listed in docs/security.md."},
    {"cameras", "The camera list: a YAML sequence of mappings, one per camera. Not settable "
                "from the environment; on the command line use `--source URL` or "
                "`--set 'cameras[ID].KEY=VALUE'`. A camera's `zones` and `lines` are lists "
                "of mappings, set in the YAML file only; their keys are the "
                "`cameras[].zones[].*` and `cameras[].lines[].*` rows."},
};

static const char *type_name(vigil_prop_type_t t)
{
    switch (t) {
    case VIGIL_PROP_INT: return "int";
    case VIGIL_PROP_DOUBLE: return "number";
    case VIGIL_PROP_BOOL: return "bool";
    case VIGIL_PROP_STRING: return "string";
    case VIGIL_PROP_ENUM: return "enum";
    }
    return "?";
}

/* Writes s for a Markdown table cell: '|' escaped, newlines as spaces. */
static void put_cell(FILE *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '|')
            fputs("\\|", out);
        else if (*s == '\n')
            fputc(' ', out);
        else
            fputc(*s, out);
    }
}

static void put_range(FILE *out, const vigil_prop_t *p)
{
    char buf[256];
    switch (p->type) {
    case VIGIL_PROP_INT: fprintf(out, "%.0f .. %.0f", p->min, p->max); break;
    case VIGIL_PROP_DOUBLE: fprintf(out, "%g .. %g", p->min, p->max); break;
    case VIGIL_PROP_BOOL: fputs("true, false", out); break;
    case VIGIL_PROP_ENUM:
        for (const char *v = p->values; *v;) {
            size_t len = strcspn(v, "|");
            fprintf(out, "%s`%.*s`", v == p->values ? "" : ", ", (int)len, v);
            v += len;
            if (*v == '|') v++;
        }
        break;
    case VIGIL_PROP_STRING:
        vigil__prop_accepted(p, buf, sizeof(buf));
        if (strcmp(buf, "a string") != 0) put_cell(out, buf);
        break;
    }
}

static void put_section(FILE *out, const char *section, size_t sl, const char *desc)
{
    char env[128];
    fprintf(out, "## %.*s\n\n%s\n\n", (int)sl, section, desc ? desc : "");
    fputs("| key | type | default | range / values | environment | description |\n", out);
    fputs("| --- | --- | --- | --- | --- | --- |\n", out);
    for (const vigil_prop_t *p = vigil_props; p->name; p++) {
        if (strcspn(p->name, ".[") != sl || strncmp(p->name, section, sl) != 0) continue;
        fprintf(out, "| `%s` | %s | ", p->name, type_name(p->type));
        if (p->def)
            fprintf(out, "`%s`", p->def);
        else
            fputs("—", out);
        fputs(" | ", out);
        put_range(out, p);
        fputs(" | ", out);
        if (vigil__prop_is_camera(p)) {
            fputs("—", out);
        } else {
            vigil__prop_env_name(p, env, sizeof(env));
            fprintf(out, "`%s`", env);
        }
        fputs(" | ", out);
        put_cell(out, p->desc);
        if (p->flags & VIGIL_PROP_SENSITIVE)
            fputs(" **Sensitive**: shown redacted in logs, errors, the API and the warehouse "
                  "(docs/security.md).",
                  out);
        fputs(" |\n", out);
    }
    /* the lists of the section and their keys (cameras[].zones[].polygon) */
    for (const vigil__rule_row_t *r = vigil__rule_rows; r->name; r++) {
        if (strcspn(r->name, ".[") != sl || strncmp(r->name, section, sl) != 0) continue;
        fprintf(out, "| `%s` | %s | ", r->name, r->list ? r->list : type_name(r->type));
        if (r->def)
            fprintf(out, "`%s`", r->def);
        else
            fputs("—", out);
        fputs(" | ", out);
        if (r->accepted) {
            put_cell(out, r->accepted);
        } else {
            vigil_prop_t p = {r->name, r->type, 0, r->def, r->min, r->max, r->values, r->desc, 0};
            put_range(out, &p);
        }
        fputs(" | — | ", out);
        put_cell(out, r->desc);
        fputs(" |\n", out);
    }
    fputs("\n", out);
}

static const char intro[] =
    "# Configuration\n"
    "\n"
    "<!-- Generated by `vigil config docs` from src/core/config_props.c; do not edit. -->\n"
    "\n"
    "vigil reads one YAML file (`vigil run --config vigil.yaml`, or the file named by\n"
    "`$VIGIL_CONFIG`), then environment variables, then command-line flags. Every setting has\n"
    "a default, so vigil runs with no file at all. `vigil config check FILE` checks a file.\n"
    "An unknown key or a bad value is an error that names the file, the line, the key and\n"
    "what is accepted, for example:\n"
    "\n"
    "```\n"
    "vigil.yaml:7: key \"bus.partitons\": unknown key (accepted: url, partitions, capacity)\n"
    "```\n"
    "\n"
    "## File shape\n"
    "\n"
    "Each section is a mapping; `cameras` is a list of mappings.\n"
    "\n"
    "```yaml\n"
    "log:\n"
    "  level: info\n"
    "http:\n"
    "  listen: \"127.0.0.1:8080\"\n"
    "bus:\n"
    "  url: \"inproc://\"\n"
    "  partitions: 4\n"
    "store:\n"
    "  url: sqlite\n"
    "  data_dir: ./data\n"
    "  retention_hours: 24\n"
    "preprocess:\n"
    "  motion_threshold: 0.003\n"
    "analytics:\n"
    "  min_hits: 3\n"
    "cameras:\n"
    "  - id: lobby\n"
    "    name: Lobby\n"
    "    url: \"rtsp://192.0.2.10/stream1\"\n"
    "    fps: 5\n"
    "  - id: gate\n"
    "    url: /videos/gate.mp4\n"
    "    zones:\n"
    "      - id: dock\n"
    "        polygon: [[0.1, 0.5], [0.4, 0.5], [0.4, 0.9], [0.1, 0.9]]\n"
    "        labels: [person]\n"
    "        min_score: 0.4\n"
    "        loiter_seconds: 30\n"
    "    lines:\n"
    "      - id: gate\n"
    "        points: [[0.5, 0.0], [0.5, 1.0]]\n"
    "        labels: [person, car]\n"
    "```\n"
    "\n"
    "A `cameras` list in the file replaces any cameras set before it is read.\n"
    "\n"
    "Zones and lines use coordinates normalised to the frame: x from 0 (left) to 1\n"
    "(right), y from 0 (top) to 1 (bottom), so they survive a change of resolution. A zone's\n"
    "polygon must be simple (its edges neither cross nor touch) and have an area; a line's\n"
    "two points must differ. Zone ids, and line ids, are unique within a camera.\n"
    "\n"
    "## Overrides\n"
    "\n"
    "Later sources override earlier ones:\n"
    "\n"
    "1. the defaults below;\n"
    "2. the YAML file;\n"
    "3. environment variables `VIGIL_<SECTION>_<KEY>` (upper case, dots become\n"
    "   underscores), e.g. `VIGIL_PREPROCESS_MOTION_THRESHOLD=0.02`. Other `VIGIL_` variables\n"
    "   (such as `VIGIL_MEDIA`) are ignored, but a bad value for a setting's variable is an\n"
    "   error;\n"
    "4. command-line flags: the shorthands of `vigil run --help` (`--data-dir`, `--http`,\n"
    "   `--bus`, `--store`, `--log-level`), `--set KEY=VALUE` (e.g.\n"
    "   `--set infer.batch_size=8`, or `--set 'cameras[lobby].fps=2'` for a camera) and\n"
    "   `--source URL`, which adds a camera with the id `cam0`, `cam1`, ...\n"
    "\n"
    "Booleans accept `true`, `false`, `yes`, `no`, `on`, `off`, `1`, `0`.\n"
    "\n";

char *vigil_config_docs_markdown(void)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&buf, &size);

    if (!out) return NULL;
    fputs(intro, out);
    for (const vigil_prop_t *p = vigil_props; p->name; p++) {
        size_t sl = strcspn(p->name, ".[");
        if (p != vigil_props && strcspn(p[-1].name, ".[") == sl &&
            strncmp(p[-1].name, p->name, sl) == 0)
            continue; /* not the first row of its section */
        const char *desc = NULL;
        for (size_t i = 0; i < sizeof(section_docs) / sizeof(section_docs[0]); i++)
            if (strlen(section_docs[i].name) == sl &&
                strncmp(section_docs[i].name, p->name, sl) == 0)
                desc = section_docs[i].desc;
        put_section(out, p->name, sl, desc);
    }
    if (fclose(out) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}
