/* Checks the result directory of `mnsim simulate`: fields.xdmf against the XDMF 3 rules that
 * readers rely on (temporal collection of uniform 3DRectMesh grids, VXVYVZ geometry, cell-centred
 * attributes) with every HDF5 reference opened and its shape and type compared; outcome.json
 * parses; timeseries.csv is rectangular with increasing time. usage: check_outputs DIR */
#include <hdf5.h>
#include <jansson.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;
static void fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "check_outputs: ");
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  failures++;
}

static const char *dir;

static char *prop(xmlNode *n, const char *name) {
  return (char *)xmlGetProp(n, (const xmlChar *)name);
}
static int is(xmlNode *n, const char *name) {
  return n->type == XML_ELEMENT_NODE && !strcmp((const char *)n->name, name);
}
static int dims_of(const char *s, long *d, int max) {
  int k = 0;
  char *end;
  while (s && *s && k < max) {
    long v = strtol(s, &end, 10);
    if (end == s) break;
    d[k++] = v;
    s = end;
  }
  return k;
}

/* A DataItem referring to an HDF5 dataset: open it and compare shape and type. */
static void check_item(xmlNode *item, const long *want, int rank) {
  char *fmt = prop(item, "Format"), *dim = prop(item, "Dimensions"), *nt = prop(item, "NumberType");
  char *pr = prop(item, "Precision");
  xmlChar *text = xmlNodeGetContent(item);
  long d[4];
  int k = dims_of(dim, d, 4);
  if (!fmt || strcmp(fmt, "HDF")) fail("DataItem Format must be HDF");
  if (k != rank) fail("DataItem Dimensions '%s' has %d entries, want %d", dim, k, rank);
  for (int i = 0; i < k && i < rank; i++)
    if (d[i] != want[i]) fail("DataItem Dimensions '%s' do not match the topology", dim);
  char ref[1024];
  snprintf(ref, sizeof ref, "%s", text ? (const char *)text : "");
  char *s = ref;
  while (*s == ' ' || *s == '\n') s++;
  char *e = s + strlen(s);
  while (e > s && (e[-1] == ' ' || e[-1] == '\n')) *--e = 0;
  char *colon = strchr(s, ':');
  if (!colon) {
    fail("DataItem '%s' is not file:/path", s);
  } else {
    *colon = 0;
    char file[2048];
    snprintf(file, sizeof file, "%s/%s", dir, s);
    hid_t f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t ds = f < 0 ? -1 : H5Dopen2(f, colon + 1, H5P_DEFAULT);
    if (ds < 0) {
      fail("dataset %s:%s cannot be opened", file, colon + 1);
    } else {
      hid_t sp = H5Dget_space(ds), ty = H5Dget_type(ds);
      hsize_t hd[4];
      int r = H5Sget_simple_extent_dims(sp, hd, NULL);
      if (r != rank) fail("%s has rank %d, the XDMF says %d", colon + 1, r, rank);
      for (int i = 0; i < r && i < rank; i++)
        if ((long)hd[i] != want[i])
          fail("%s dimension %d is %llu, want %ld", colon + 1, i, (unsigned long long)hd[i],
               want[i]);
      int prec = pr ? atoi(pr) : 4;
      H5T_class_t cl = H5Tget_class(ty);
      if ((int)H5Tget_size(ty) != prec)
        fail("%s stores %zu-byte values, Precision says %d", colon + 1, H5Tget_size(ty), prec);
      if (nt && !strcmp(nt, "Float") && cl != H5T_FLOAT)
        fail("%s is not floating point", colon + 1);
      if (nt && !strcmp(nt, "UChar") && cl != H5T_INTEGER) fail("%s is not an integer", colon + 1);
      H5Tclose(ty);
      H5Sclose(sp);
      H5Dclose(ds);
    }
    if (f >= 0) H5Fclose(f);
  }
  xmlFree(fmt), xmlFree(dim), xmlFree(nt), xmlFree(pr), xmlFree(text);
}

static void check_uniform(xmlNode *g, double *last_time) {
  int ntime = 0, ntopo = 0, ngeo = 0, nattr = 0;
  long topo[3] = {0, 0, 0};
  for (xmlNode *c = g->children; c; c = c->next)
    if (is(c, "Topology")) {
      char *t = prop(c, "TopologyType"), *d = prop(c, "Dimensions");
      if (!t || strcmp(t, "3DRectMesh")) fail("Topology must be 3DRectMesh");
      if (dims_of(d, topo, 3) != 3 || topo[0] < 2 || topo[1] < 2 || topo[2] < 2)
        fail("Topology Dimensions '%s' must be three node counts >= 2", d ? d : "");
      ntopo++;
      xmlFree(t), xmlFree(d);
    }
  for (xmlNode *c = g->children; c; c = c->next) {
    if (is(c, "Time")) {
      char *v = prop(c, "Value");
      double t = v ? atof(v) : -1;
      if (!v || t <= *last_time) fail("Time values must exist and increase");
      *last_time = t;
      ntime++;
      xmlFree(v);
    } else if (is(c, "Geometry")) {
      char *t = prop(c, "GeometryType");
      if (!t || strcmp(t, "VXVYVZ")) fail("Geometry must be VXVYVZ");
      int k = 0;
      for (xmlNode *it = c->children; it; it = it->next)
        if (is(it, "DataItem")) {
          long want = k < 3 ? topo[2 - k] : 0; /* X, Y, Z node counts */
          check_item(it, &want, 1);
          k++;
        }
      if (k != 3) fail("Geometry VXVYVZ needs 3 DataItems, found %d", k);
      ngeo++;
      xmlFree(t);
    } else if (is(c, "Attribute")) {
      char *n = prop(c, "Name"), *ce = prop(c, "Center"), *at = prop(c, "AttributeType");
      if (!n || !ce || strcmp(ce, "Cell") || !at || strcmp(at, "Scalar"))
        fail("Attribute needs a Name, Center=Cell and AttributeType=Scalar");
      long cells[3] = {topo[0] - 1, topo[1] - 1, topo[2] - 1};
      int k = 0;
      for (xmlNode *it = c->children; it; it = it->next)
        if (is(it, "DataItem")) check_item(it, cells, 3), k++;
      if (k != 1) fail("Attribute %s needs exactly one DataItem", n ? n : "?");
      nattr++;
      xmlFree(n), xmlFree(ce), xmlFree(at);
    }
  }
  if (ntime != 1 || ntopo != 1 || ngeo != 1 || nattr < 2)
    fail("a uniform grid needs one Time, Topology and Geometry and attributes (%d %d %d %d)", ntime,
         ntopo, ngeo, nattr);
}

static void check_xdmf(void) {
  char path[2048];
  snprintf(path, sizeof path, "%s/fields.xdmf", dir);
  xmlDoc *doc = xmlReadFile(path, NULL, XML_PARSE_NONET);
  if (!doc) return fail("%s is not well-formed XML", path);
  xmlNode *root = xmlDocGetRootElement(doc);
  char *ver = root ? prop(root, "Version") : NULL;
  if (!root || !is(root, "Xdmf") || !ver || strcmp(ver, "3.0"))
    fail("root must be <Xdmf Version=\"3.0\">");
  xmlFree(ver);
  xmlNode *dom = NULL;
  for (xmlNode *c = root ? root->children : NULL; c; c = c->next)
    if (is(c, "Domain")) dom = c;
  if (!dom) {
    xmlFreeDoc(doc);
    return fail("no Domain");
  }
  int grids = 0;
  for (xmlNode *c = dom->children; c; c = c->next) {
    if (!is(c, "Grid")) continue;
    char *gt = prop(c, "GridType"), *ct = prop(c, "CollectionType");
    if (!gt || strcmp(gt, "Collection") || !ct || strcmp(ct, "Temporal"))
      fail("the top Grid must be a temporal collection");
    double last = -1e300;
    for (xmlNode *u = c->children; u; u = u->next)
      if (is(u, "Grid")) {
        char *ut = prop(u, "GridType");
        if (!ut || strcmp(ut, "Uniform")) fail("time steps must be Uniform grids");
        check_uniform(u, &last);
        grids++;
        xmlFree(ut);
      }
    xmlFree(gt), xmlFree(ct);
  }
  if (!grids) fail("no time steps in %s", path);
  printf("check_outputs: fields.xdmf: %d time steps checked against fields.h5\n", grids);
  xmlFreeDoc(doc);
}

static int require_bands;

static void check_json_csv(void) {
  char path[2048];
  snprintf(path, sizeof path, "%s/outcome.json", dir);
  json_error_t je;
  json_t *j = json_load_file(path, 0, &je);
  if (!j || !json_object_get(j, "outcome") || !json_object_get(j, "parameters"))
    fail("%s: not valid or missing sections (%s)", path, je.text);
  /* bands, when present: q05 <= median <= q95 for every outcome scalar, some of them wide */
  json_t *bands = json_object_get(json_object_get(j, "uncertainty"), "bands");
  if (require_bands && !json_is_object(bands)) fail("%s: no uncertainty bands", path);
  const char *key;
  json_t *b;
  int n = 0, wide = 0;
  json_object_foreach(bands, key, b) {
    json_t *lo = json_object_get(b, "q05"), *me = json_object_get(b, "median"),
           *hi = json_object_get(b, "q95");
    n++;
    if (json_is_null(me)) continue;
    double l = json_number_value(lo), m = json_number_value(me), h = json_number_value(hi);
    if (!(l <= m && m <= h)) fail("%s: band %s not ordered: %g %g %g", path, key, l, m, h);
    wide += h > l;
  }
  if (require_bands && (n < 10 || wide < n / 2))
    fail("%s: %d bands, %d of them with a spread", path, n, wide);
  json_decref(j);
  snprintf(path, sizeof path, "%s/timeseries.csv", dir);
  FILE *fp = fopen(path, "r");
  if (!fp) return fail("cannot open %s", path);
  static char line[1 << 16];
  int cols = -1, rows = 0;
  double last = -1;
  while (fgets(line, sizeof line, fp)) {
    int c = 1;
    for (char *p = line; *p; p++) c += *p == ',';
    if (cols < 0)
      cols = c;
    else {
      if (c != cols) fail("timeseries.csv row %d has %d columns, header %d", rows + 2, c, cols);
      double t = atof(line);
      if (t < last) fail("timeseries.csv: time decreases at row %d", rows + 2);
      last = t;
      rows++;
    }
  }
  fclose(fp);
  if (rows < 2) fail("timeseries.csv has %d rows", rows);
}

int main(int argc, char **argv) {
  int lumped = argc == 3 && !strcmp(argv[1], "--lumped");
  if (argc != 2 && !lumped) return fprintf(stderr, "usage: check_outputs [--lumped] DIR\n"), 2;
  dir = argv[argc - 1];
  require_bands = lumped;
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  if (!lumped) check_xdmf();
  check_json_csv();
  return failures ? 1 : 0;
}
