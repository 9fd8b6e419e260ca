/* HDF5 snapshots, their merge into fields.h5 with the mesh, the XDMF description for ParaView,
 * and checkpoints of `mnsim simulate`. Every file is written under a temporary name and renamed;
 * object timestamps are off so that identical data give identical files. Pipeline: io; the CLI
 * calls it from the run loop. Reference: docs/formats.md (fields.h5, fields.xdmf, checkpoints). */
#define _GNU_SOURCE /* memfd_create */
#include <errno.h>
#include <hdf5.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "io_impl.h"

/* Layout (names are those of the datasets and attributes):
 *   snapshot file (one per snapshot day while the run goes) and fields.h5:
 *     /day_DDDD.DDD          group, attribute day (double)
 *       <species>            [nz][ny][nx] interior cells, float32 or float64 (simulate.precision),
 *                            chunks of at most 8 x 64 x 64, byte shuffle + deflate level 4
 *   fields.h5 only:
 *     /mesh/x_mm, /mesh/y_mm [nx + 1], [ny + 1] node coordinates in mm, float64
 *     /mesh/z_mm             [nz + 1] face depths below the surface, increasing downwards
 *     /mesh/layer            [nz][ny][nx] uint8 layer code (MN_LAYER_*, 255 void), compressed
 *   checkpoint:
 *     attributes t_day, dt_day, u_uv (solver scalars), frozen, steps, samples, seed, case_file,
 *       days (the --days of the run, 0 = none), case_hash, params_hash (64-bit FNV-1a of the
 *       saved case's bytes and of the model parameters), build (mn_build_id: "mnsim VERSION
 *       ID"), checksum (64-bit FNV-1a over all the other values, see content_sum)
 *     grid_dims [3] = nx, ny, nz; run_state [3] = next session, next sample, next snapshot
 *     <species>              [nz][ny][nx] float64, uncompressed: the state to resume from
 *     ts_t, ts_session, ts_redness [samples]; ts_mean [samples x 4 layers x species], flat
 * Fields and coordinates have fixed little-endian IEEE types; the checkpoint's integers are
 * stored with native types. */

/* HDF5 prints its error stack unless told not to; the library never prints. Every entry point
 * calls this first, so it also runs before HDF5 initialises: HDF5 1.10 cannot close a file whose
 * flush failed once (a full disk; its cache is left in a state that every later flush refuses),
 * and its exit handler then crashes on that file. Without the handler, such a file is left to the
 * kernel at exit; the files we close are complete either way. */
static void quiet(void) {
  static int once;
  if (!once) H5dont_atexit(), once = 1;
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

/* Dataset creation properties: no timestamps; with @p deflate, chunks of at most 8 planes x
 * 64 x 64 cells, the byte shuffle (which groups the like bytes of neighbouring values) and zlib
 * level 4. */
static hid_t dcpl_for(hsize_t nz, hsize_t ny, hsize_t nx, int deflate) {
  hid_t p = H5Pcreate(H5P_DATASET_CREATE);
  H5Pset_obj_track_times(p, 0);
  if (deflate) {
    hsize_t chunk[3] = {nz < 8 ? nz : 8, ny < 64 ? ny : 64, nx < 64 ? nx : 64};
    H5Pset_chunk(p, 3, chunk);
    H5Pset_shuffle(p);
    H5Pset_deflate(p, 4);
  }
  return p;
}

/* A group without timestamps. */
static hid_t group_create(hid_t f, const char *name) {
  hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
  H5Pset_obj_track_times(gcpl, 0);
  hid_t gr = H5Gcreate2(f, name, H5P_DEFAULT, gcpl, H5P_DEFAULT);
  H5Pclose(gcpl);
  return gr;
}

/* Scalar attributes of memory and file type @p type; 0 or -1, as the other helpers here. */
static int write_attr(hid_t obj, const char *name, hid_t type, const void *v) {
  hid_t sp = H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate2(obj, name, type, sp, H5P_DEFAULT, H5P_DEFAULT);
  herr_t r = a < 0 ? -1 : H5Awrite(a, type, v);
  if (a >= 0) H5Aclose(a);
  H5Sclose(sp);
  return r < 0 ? -1 : 0;
}

static int read_attr(hid_t obj, const char *name, hid_t type, void *v) {
  hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
  if (a < 0) return -1;
  herr_t r = H5Aread(a, type, v);
  H5Aclose(a);
  return r < 0 ? -1 : 0;
}

/* Write a [dims] dataset of doubles stored as `file_type`. */
static int write_dataset(hid_t loc, const char *name, int rank, const hsize_t *dims,
                         hid_t file_type, hid_t mem_type, const void *data, int deflate) {
  hid_t sp = H5Screate_simple(rank, dims, NULL);
  hid_t p =
      rank == 3 ? dcpl_for(dims[0], dims[1], dims[2], deflate) : H5Pcreate(H5P_DATASET_CREATE);
  if (rank != 3) H5Pset_obj_track_times(p, 0);
  hid_t d = H5Dcreate2(loc, name, file_type, sp, H5P_DEFAULT, p, H5P_DEFAULT);
  herr_t r = d < 0 ? -1 : H5Dwrite(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
  if (d >= 0) H5Dclose(d);
  H5Pclose(p);
  H5Sclose(sp);
  return r < 0 ? -1 : 0;
}

/* Read a whole dataset that must hold exactly @p expect values: a checkpoint of another size is
 * refused rather than read past the buffer. */
static int read_dataset(hid_t loc, const char *name, hid_t mem_type, void *data, hsize_t expect) {
  hid_t d = H5Dopen2(loc, name, H5P_DEFAULT);
  if (d < 0) return -1;
  hid_t sp = H5Dget_space(d);
  hssize_t n = H5Sget_simple_extent_npoints(sp);
  herr_t r = n == (hssize_t)expect ? H5Dread(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) : -1;
  H5Sclose(sp);
  H5Dclose(d);
  return r < 0 ? -1 : 0;
}

/* A grid field's interior written straight from the field (halo excluded by a hyperslab of the
 * memory space): no packed copy, so a snapshot adds no field-sized buffer to the run's peak
 * memory. The memory space is the padded field, [nz][ny + 2 ng][sy]; the hyperslab from
 * (0, ng, ox) of extent [nz][ny][nx] is the interior. */
static int write_field(hid_t loc, const char *name, const mn_grid *g, const float *f,
                       hid_t file_type, int deflate) {
  hsize_t dims[3] = {(hsize_t)g->nz, (hsize_t)g->ny, (hsize_t)g->nx};
  hsize_t mdims[3] = {(hsize_t)g->nz, (hsize_t)(g->sz / g->sy), (hsize_t)g->sy};
  hsize_t start[3] = {0, (hsize_t)g->ng, (hsize_t)g->ox};
  hid_t sp = H5Screate_simple(3, dims, NULL), ms = H5Screate_simple(3, mdims, NULL);
  hid_t p = dcpl_for(dims[0], dims[1], dims[2], deflate);
  herr_t r = H5Sselect_hyperslab(ms, H5S_SELECT_SET, start, NULL, dims, NULL);
  hid_t d = r < 0 ? -1 : H5Dcreate2(loc, name, file_type, sp, H5P_DEFAULT, p, H5P_DEFAULT);
  r = d < 0 ? -1 : H5Dwrite(d, H5T_NATIVE_FLOAT, ms, H5S_ALL, H5P_DEFAULT, f);
  if (d >= 0) H5Dclose(d);
  H5Pclose(p);
  H5Sclose(ms);
  H5Sclose(sp);
  return r < 0 ? -1 : 0;
}

/* A grid field's interior read straight into the field (the halo keeps its values). */
static int read_field(hid_t loc, const char *name, const mn_grid *g, float *f) {
  hid_t d = H5Dopen2(loc, name, H5P_DEFAULT);
  if (d < 0) return -1;
  hsize_t dims[3] = {(hsize_t)g->nz, (hsize_t)g->ny, (hsize_t)g->nx};
  hsize_t mdims[3] = {(hsize_t)g->nz, (hsize_t)(g->sz / g->sy), (hsize_t)g->sy};
  hsize_t start[3] = {0, (hsize_t)g->ng, (hsize_t)g->ox};
  hid_t sp = H5Dget_space(d), ms = H5Screate_simple(3, mdims, NULL);
  hssize_t n = H5Sget_simple_extent_npoints(sp);
  herr_t r = n == (hssize_t)mn_grid_cells(g)
                 ? H5Sselect_hyperslab(ms, H5S_SELECT_SET, start, NULL, dims, NULL)
                 : -1;
  r = r < 0 ? -1 : H5Dread(d, H5T_NATIVE_FLOAT, ms, H5S_ALL, H5P_DEFAULT, f);
  H5Sclose(ms);
  H5Sclose(sp);
  H5Dclose(d);
  return r < 0 ? -1 : 0;
}

/* "day_0007.000": names that sort in time order and that the XDMF refers to. Two days that
 * round to the same name would collide when merged into fields.h5. */
static void group_name(char *buf, size_t n, double day) {
  snprintf(buf, n, "day_%08.3f", day);
}

/* Open an HDF5 file for writing at the temporary name of an atomic output file. HDF5 writes the
 * temporary by name, so the ofile's stream is closed at once (detach) and commit reopens it to
 * fsync. The oldest file format able to hold the data (HDF5's default bounds, made explicit)
 * keeps the files readable by older HDF5 readers. Returns -1 with @p err set on failure. */
static hid_t h5_open_atomic(mn_ofile *of, const char *path, mn_error *err) {
  quiet();
  if (mn_ofile_open(of, path, err)) return -1;
  mn_ofile_detach(of);
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  H5Pset_libver_bounds(fapl, H5F_LIBVER_EARLIEST, H5F_LIBVER_LATEST);
  hid_t f = H5Fcreate(of->tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  H5Pclose(fapl);
  if (f < 0) {
    mn_ofile_abort(of);
    MN_ERR(err, MN_EIO, "", "cannot create HDF5 file %s (for %s)", of->tmp, path);
  }
  return f;
}

/* The system's reason for the last failure in HDF5's error stack ("errno = 28, error message =
 * ..." in the file driver's description), or 0. */
static herr_t find_errno(unsigned n, const H5E_error2_t *e, void *data) {
  (void)n;
  const char *at = e->desc ? strstr(e->desc, "errno = ") : NULL;
  if (at && !*(int *)data) *(int *)data = atoi(at + 8);
  return 0;
}
static int h5_errno(void) {
  int e = 0;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, find_errno, &e);
  return e;
}

/* Close a file whose writing failed for good. HDF5 may keep it open (see quiet()): its
 * descriptor is first pointed at an anonymous memory file, so that the temporary's disk space is
 * freed when the caller removes it and any later flush goes nowhere. */
static void h5_discard(hid_t f) {
  int *fd = NULL;
  if (H5Fget_vfd_handle(f, H5P_DEFAULT, (void **)&fd) >= 0 && fd && *fd >= 0) {
    int m = memfd_create("mnsim-discard", 0);
    if (m >= 0) {
      dup2(m, *fd);
      close(m);
    }
  }
  H5Fclose(f);
}

/* Flush and close the file, then put it in place, or discard the temporary when anything failed
 * before (@p bad) or the flush or the close fails. The message names the file and, when the
 * system gave one, the reason (a full disk: "No space left on device"). */
static int h5_close_atomic(mn_ofile *of, hid_t f, int bad, mn_error *err) {
  int e = 0;
  if (!bad && H5Fflush(f, H5F_SCOPE_LOCAL) < 0) bad = 1, e = h5_errno();
  if (bad) {
    if (!e) { /* an earlier call failed; its errno is gone: a full file system is the usual one */
      struct statvfs vfs;
      if (statvfs(of->tmp, &vfs) == 0 && vfs.f_bavail == 0) e = ENOSPC;
    }
    h5_discard(f);
  } else if (H5Fclose(f) < 0) {
    bad = 1, e = h5_errno();
    h5_discard(f); /* still open inside HDF5 when the close failed in its last flush */
  }
  if (bad) {
    MN_ERR(err, MN_EIO, "", "cannot write HDF5 file %s (temporary %s)%s%s; %s is unchanged",
           of->path, of->tmp, e ? ": " : "", e ? strerror(e) : "", of->path);
    mn_ofile_abort(of);
    return MN_EIO;
  }
  return mn_ofile_commit(of, err);
}

/* One snapshot file: the group of day @p day with every species at the run's precision. */
int mn_h5_write_snapshot(const char *path, const mn_grid *g, const mn_solver *s, double day,
                         int precision, mn_error *err) {
  mn_ofile of;
  hid_t f = h5_open_atomic(&of, path, err);
  if (f < 0) return err ? err->code : MN_EIO;
  int bad = 0;
  char name[32];
  group_name(name, sizeof name, day);
  hid_t gr = group_create(f, name);
  bad |= gr < 0 || write_attr(gr, "day", H5T_NATIVE_DOUBLE, &day) < 0;
  hid_t ft = precision == MN_PREC_FLOAT64 ? H5T_IEEE_F64LE : H5T_IEEE_F32LE;
  for (int q = 0; q < MN_NSPECIES && !bad; q++)
    bad |= write_field(gr, mn_species_name(q), g, mn_solver_field_c(s, q), ft, 1) < 0;
  if (gr >= 0) H5Gclose(gr);
  return h5_close_atomic(&of, f, bad, err);
}

/* A snapshot written earlier by this run: an HDF5 file with the group of day @p day holding every
 * species over the grid's interior. */
int mn_h5_check_snapshot(const char *path, const mn_grid *g, double day, mn_error *err) {
  quiet();
  hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0)
    return MN_ERR(err, MN_EINPUT, "", "snapshot %s is missing, truncated or not HDF5", path);
  char name[32];
  group_name(name, sizeof name, day);
  hid_t gr = H5Gopen2(f, name, H5P_DEFAULT);
  int rc = gr < 0 ? MN_ERR(err, MN_EINPUT, "", "snapshot %s has no group %s", path, name) : MN_OK;
  for (int q = 0; q < MN_NSPECIES && rc == MN_OK; q++) {
    hid_t d = H5Dopen2(gr, mn_species_name(q), H5P_DEFAULT);
    hid_t sp = d < 0 ? -1 : H5Dget_space(d);
    hsize_t dims[3] = {0, 0, 0};
    int ok = sp >= 0 && H5Sget_simple_extent_ndims(sp) == 3 &&
             H5Sget_simple_extent_dims(sp, dims, NULL) == 3 && dims[0] == (hsize_t)g->nz &&
             dims[1] == (hsize_t)g->ny && dims[2] == (hsize_t)g->nx;
    if (sp >= 0) H5Sclose(sp);
    if (d >= 0) H5Dclose(d);
    if (!ok)
      rc = MN_ERR(err, MN_EINPUT, "", "snapshot %s: %s/%s is missing or not %d x %d x %d", path,
                  name, mn_species_name(q), g->nz, g->ny, g->nx);
  }
  if (gr >= 0) H5Gclose(gr);
  H5Fclose(f);
  return rc;
}

/* fields.h5's /mesh: node coordinates, face depths and the layer map, packed plane by plane
 * from the grid's padded rows. */
static int write_mesh(hid_t f, const mn_grid *g) {
  hid_t m = group_create(f, "mesh");
  if (m < 0) return -1;
  int bad = 0;
  double *x = mn_malloc_array((size_t)g->nx + 1, sizeof *x),
         *y = mn_malloc_array((size_t)g->ny + 1, sizeof *y);
  double *z = mn_malloc_array((size_t)g->nz + 1, sizeof *z);
  uint8_t *layer = mn_malloc_array(mn_grid_cells(g), 1);
  if (!x || !y || !z || !layer) bad = 1;
  if (!bad) {
    for (int i = 0; i <= g->nx; i++) x[i] = g->x0_mm + 1e-3 * g->dx_um * i;
    for (int j = 0; j <= g->ny; j++) y[j] = g->y0_mm + 1e-3 * g->dx_um * j;
    for (int k = 0; k <= g->nz; k++) z[k] = 1e-3 * g->zf_um[k];
    size_t o = 0;
    for (int k = 0; k < g->nz; k++)
      for (int j = 0; j < g->ny; j++, o += (size_t)g->nx)
        memcpy(layer + o, g->cell + mn_grid_at(g, 0, j, k), (size_t)g->nx);
    hsize_t nx = (hsize_t)g->nx + 1, ny = (hsize_t)g->ny + 1, nz = (hsize_t)g->nz + 1;
    hsize_t dims[3] = {(hsize_t)g->nz, (hsize_t)g->ny, (hsize_t)g->nx};
    bad |= write_dataset(m, "x_mm", 1, &nx, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, x, 0) < 0;
    bad |= write_dataset(m, "y_mm", 1, &ny, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, y, 0) < 0;
    bad |= write_dataset(m, "z_mm", 1, &nz, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, z, 0) < 0;
    bad |= write_dataset(m, "layer", 3, dims, H5T_STD_U8LE, H5T_NATIVE_UINT8, layer, 1) < 0;
  }
  mn_free(x);
  mn_free(y);
  mn_free(z);
  mn_free(layer);
  H5Gclose(m);
  return bad ? -1 : 0;
}

/* fields.h5: the mesh, then the group of each snapshot file (its first link by name; a snapshot
 * holds one), copied whole with H5Ocopy in the order given. */
int mn_h5_merge(const char *out, const char *const *snaps, int n, const mn_grid *g, mn_error *err) {
  mn_ofile of;
  hid_t f = h5_open_atomic(&of, out, err);
  if (f < 0) return err ? err->code : MN_EIO;
  int bad = write_mesh(f, g) < 0;
  hid_t ocpy = H5Pcreate(H5P_OBJECT_COPY);
  for (int i = 0; i < n && !bad; i++) {
    hid_t src = H5Fopen(snaps[i], H5F_ACC_RDONLY, H5P_DEFAULT);
    if (src < 0) {
      H5Pclose(ocpy);
      H5Fclose(f);
      mn_ofile_abort(&of);
      return MN_ERR(err, MN_EIO, "", "cannot open snapshot %s", snaps[i]);
    }
    char name[64] = "";
    H5Lget_name_by_idx(src, "/", H5_INDEX_NAME, H5_ITER_INC, 0, name, sizeof name, H5P_DEFAULT);
    bad |= H5Ocopy(src, name, f, name, ocpy, H5P_DEFAULT) < 0;
    H5Fclose(src);
  }
  H5Pclose(ocpy);
  return h5_close_atomic(&of, f, bad, err);
}

/* ---- XDMF ------------------------------------------------------------------------------ */

/* XDMF 3.0: a temporal collection of 3DRectMesh grids, one per snapshot day, with VXVYVZ node
 * coordinates, the layer map and every species as cell-centred attributes, all pointing into
 * the HDF5 file by the name x->h5name (relative to the .xdmf). Dimensions are slowest first
 * (nz ny nx), as the datasets are stored. */
int mn_io_xdmf(FILE *fp, const void *vctx, mn_error *err) {
  (void)err;
  const mn_xdmf_ctx *x = vctx;
  const mn_grid *g = x->g;
  int prec = x->precision == MN_PREC_FLOAT64 ? 8 : 4;
  fprintf(fp, "<?xml version=\"1.0\" ?>\n<!DOCTYPE Xdmf SYSTEM \"Xdmf.dtd\" []>\n");
  fprintf(fp, "<Xdmf Version=\"3.0\" xmlns:xi=\"http://www.w3.org/2001/XInclude\">\n <Domain>\n");
  fprintf(fp, "  <Grid Name=\"mnsim\" GridType=\"Collection\" CollectionType=\"Temporal\">\n");
  for (int t = 0; t < x->n; t++) {
    char name[32];
    group_name(name, sizeof name, x->days[t]);
    fprintf(fp, "   <Grid Name=\"day %g\" GridType=\"Uniform\">\n    <Time Value=\"%.17g\"/>\n",
            x->days[t], x->days[t]);
    fprintf(fp, "    <Topology TopologyType=\"3DRectMesh\" Dimensions=\"%d %d %d\"/>\n", g->nz + 1,
            g->ny + 1, g->nx + 1);
    fprintf(fp, "    <Geometry GeometryType=\"VXVYVZ\">\n");
    static const char *const ax[3] = {"x_mm", "y_mm", "z_mm"};
    int dim[3] = {g->nx + 1, g->ny + 1, g->nz + 1};
    for (int a = 0; a < 3; a++)
      fprintf(fp,
              "     <DataItem Dimensions=\"%d\" NumberType=\"Float\" Precision=\"8\" "
              "Format=\"HDF\">%s:/mesh/%s</DataItem>\n",
              dim[a], x->h5name, ax[a]);
    fprintf(fp, "    </Geometry>\n");
    fprintf(fp,
            "    <Attribute Name=\"layer\" AttributeType=\"Scalar\" Center=\"Cell\">\n     "
            "<DataItem Dimensions=\"%d %d %d\" NumberType=\"UChar\" Precision=\"1\" "
            "Format=\"HDF\">%s:/mesh/layer</DataItem>\n    </Attribute>\n",
            g->nz, g->ny, g->nx, x->h5name);
    for (int q = 0; q < MN_NSPECIES; q++)
      fprintf(fp,
              "    <Attribute Name=\"%s\" AttributeType=\"Scalar\" Center=\"Cell\">\n     "
              "<DataItem Dimensions=\"%d %d %d\" NumberType=\"Float\" Precision=\"%d\" "
              "Format=\"HDF\">%s:/%s/%s</DataItem>\n    </Attribute>\n",
              mn_species_name(q), g->nz, g->ny, g->nx, prec, x->h5name, name, mn_species_name(q));
    fprintf(fp, "   </Grid>\n");
  }
  fprintf(fp, "  </Grid>\n </Domain>\n</Xdmf>\n");
  return MN_OK;
}

int mn_xdmf_write(const char *path, const char *h5name, const mn_grid *g, const double *days, int n,
                  int precision, mn_error *err) {
  mn_xdmf_ctx x = {h5name, g, days, n, precision};
  return mn_io_write_atomic(path, mn_io_xdmf, &x, err);
}

/* ---- checkpoints ------------------------------------------------------------------------ */

/* The scalars of a checkpoint: the solver's, the grid's size, the series' length and the run
 * state (see the layout at the top). */
typedef struct ckpt_head {
  mn_solver_scalars sc;
  int dims[3], samples;
  mn_run_state rs;
} ckpt_head;

/* One named item of the checksum: its name (with the NUL, so that names and values cannot run
 * into each other) and its bytes. */
static uint64_t sum_item(uint64_t h, const char *name, const void *p, size_t n) {
  h = mn_fnv1a64(h, name, strlen(name) + 1);
  return mn_fnv1a64(h, p, n);
}

/* FNV-1a taken a 32-bit word (one float32 value) at a time (the fields are most of a checkpoint:
 * four times fewer multiplications than byte by byte). Each step is a bijection of the state for
 * a given word, so a change confined to one word (any number of flipped bits in one value)
 * always changes the result. */
static uint64_t sum_words(uint64_t h, const float *v, size_t n) {
  for (size_t i = 0; i < n; i++) {
    uint32_t w;
    memcpy(&w, v + i, sizeof w);
    h = (h ^ w) * 1099511628211ull;
  }
  return h;
}

/* The checksum of a checkpoint's content: 64-bit FNV-1a over every attribute and dataset in a
 * fixed order (the fields' interior cells row by row by sum_words), the series' first
 * @p h->samples entries.
 * Writer and reader compute it over the same values in memory, so any change of a stored value
 * (a flipped bit, an edit, another run's dataset) changes it. */
static uint64_t content_sum(const ckpt_head *c, const mn_grid *g, const mn_solver *s,
                            const mn_timeseries *ts) {
  const mn_run_state *rs = &c->rs;
  int run[3] = {rs->next_session, rs->next_sample, rs->next_snapshot}, frozen = c->sc.frozen;
  long steps = c->sc.steps;
  uint64_t h = MN_FNV1A64_INIT;
  h = sum_item(h, "t_day", &c->sc.t_day, sizeof c->sc.t_day);
  h = sum_item(h, "dt_day", &c->sc.dt_day, sizeof c->sc.dt_day);
  h = sum_item(h, "u_uv", &c->sc.u_uv, sizeof c->sc.u_uv);
  h = sum_item(h, "frozen", &frozen, sizeof frozen);
  h = sum_item(h, "steps", &steps, sizeof steps);
  h = sum_item(h, "samples", &c->samples, sizeof c->samples);
  h = sum_item(h, "seed", &rs->seed, sizeof rs->seed);
  h = sum_item(h, "case_file", rs->case_file, strnlen(rs->case_file, sizeof rs->case_file));
  h = sum_item(h, "days", &rs->days, sizeof rs->days);
  h = sum_item(h, "case_hash", &rs->case_hash, sizeof rs->case_hash);
  h = sum_item(h, "params_hash", &rs->params_hash, sizeof rs->params_hash);
  h = sum_item(h, "build", rs->build, strnlen(rs->build, sizeof rs->build));
  h = sum_item(h, "grid_dims", c->dims, sizeof c->dims);
  h = sum_item(h, "run_state", run, sizeof run);
  for (int q = 0; q < MN_NSPECIES; q++) {
    const float *f = mn_solver_field_c(s, q);
    h = mn_fnv1a64(h, mn_species_name(q), strlen(mn_species_name(q)) + 1);
    for (int k = 0; k < g->nz; k++)
      for (int j = 0; j < g->ny; j++) h = sum_words(h, f + mn_grid_at(g, 0, j, k), (size_t)g->nx);
  }
  size_t n = (size_t)c->samples;
  h = sum_item(h, "ts_t", ts->t, n * sizeof *ts->t);
  h = sum_item(h, "ts_session", ts->session, n * sizeof *ts->session);
  h = sum_item(h, "ts_redness", ts->redness, n * sizeof *ts->redness);
  return sum_item(h, "ts_mean", ts->mean, n * MN_LAYER_HYPO * MN_NSPECIES * sizeof *ts->mean);
}

/* A fixed-length string attribute of @p size bytes (NUL-padded). */
static int write_str_attr(hid_t obj, const char *name, const char *v, size_t size) {
  hid_t str = H5Tcopy(H5T_C_S1);
  H5Tset_size(str, size);
  int r = write_attr(obj, name, str, v);
  H5Tclose(str);
  return r;
}

/* Read a string attribute into @p v (@p size bytes, always NUL-terminated): -1 when absent or
 * not a string. */
static int read_str_attr(hid_t obj, const char *name, char *v, size_t size) {
  hid_t str = H5Tcopy(H5T_C_S1);
  H5Tset_size(str, size);
  memset(v, 0, size);
  int r = read_attr(obj, name, str, v);
  H5Tclose(str);
  v[size - 1] = '\0';
  return r;
}

/* Everything a resumed run needs to continue bit-identically: the solver's scalars, the run
 * state, every field in double precision, the time series so far, and the checksum of all of
 * it (see the layout above). The build is this library's, whatever rs->build says. */
int mn_checkpoint_write(const char *path, const mn_grid *g, const mn_solver *s,
                        const mn_run_state *rs, const mn_timeseries *ts, mn_error *err) {
  ckpt_head c = {.dims = {g->nx, g->ny, g->nz}, .samples = ts->n, .rs = *rs};
  mn_solver_get_scalars(s, &c.sc);
  snprintf(c.rs.build, sizeof c.rs.build, "%s", mn_build_id());
  uint64_t sum = content_sum(&c, g, s, ts);
  mn_ofile of;
  hid_t f = h5_open_atomic(&of, path, err);
  if (f < 0) return err ? err->code : MN_EIO;
  int run[3] = {rs->next_session, rs->next_sample, rs->next_snapshot};
  int frozen = c.sc.frozen, n = ts->n;
  long steps = c.sc.steps;
  int bad = write_attr(f, "t_day", H5T_NATIVE_DOUBLE, &c.sc.t_day) < 0;
  bad |= write_attr(f, "dt_day", H5T_NATIVE_DOUBLE, &c.sc.dt_day) < 0;
  bad |= write_attr(f, "u_uv", H5T_NATIVE_DOUBLE, &c.sc.u_uv) < 0;
  bad |= write_attr(f, "frozen", H5T_NATIVE_INT, &frozen) < 0;
  bad |= write_attr(f, "steps", H5T_NATIVE_LONG, &steps) < 0;
  bad |= write_attr(f, "samples", H5T_NATIVE_INT, &n) < 0;
  bad |= write_attr(f, "seed", H5T_NATIVE_UINT64, &rs->seed) < 0;
  bad |= write_str_attr(f, "case_file", rs->case_file, sizeof rs->case_file) < 0;
  bad |= write_attr(f, "days", H5T_NATIVE_DOUBLE, &rs->days) < 0;
  bad |= write_attr(f, "case_hash", H5T_NATIVE_UINT64, &rs->case_hash) < 0;
  bad |= write_attr(f, "params_hash", H5T_NATIVE_UINT64, &rs->params_hash) < 0;
  bad |= write_str_attr(f, "build", c.rs.build, sizeof c.rs.build) < 0;
  bad |= write_attr(f, "checksum", H5T_NATIVE_UINT64, &sum) < 0;
  hsize_t three = 3;
  bad |= write_dataset(f, "grid_dims", 1, &three, H5T_NATIVE_INT, H5T_NATIVE_INT, c.dims, 0) < 0;
  bad |= write_dataset(f, "run_state", 1, &three, H5T_NATIVE_INT, H5T_NATIVE_INT, run, 0) < 0;
  for (int q = 0; q < MN_NSPECIES && !bad; q++)
    bad |= write_field(f, mn_species_name(q), g, mn_solver_field_c(s, q), H5T_IEEE_F32LE, 0) < 0;
  if (n > 0 && !bad) {
    hsize_t nn = (hsize_t)n, nm = (hsize_t)n * MN_LAYER_HYPO * MN_NSPECIES;
    bad |= write_dataset(f, "ts_t", 1, &nn, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, ts->t, 0) < 0;
    bad |=
        write_dataset(f, "ts_session", 1, &nn, H5T_NATIVE_INT, H5T_NATIVE_INT, ts->session, 0) < 0;
    bad |= write_dataset(f, "ts_redness", 1, &nn, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, ts->redness,
                         0) < 0;
    bad |= write_dataset(f, "ts_mean", 1, &nm, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, ts->mean, 0) < 0;
  }
  return h5_close_atomic(&of, f, bad, err);
}

/* A field's value against its allowed range [lo, hi] (NaN is outside every range). */
static int in_range(double v, double lo, double hi) {
  return v >= lo && v <= hi;
}

/* The values of the header alone: each within what a run can write. The grid's size and the
 * series' room are checked by the caller, which knows them. */
static int check_head(const char *path, const ckpt_head *c, mn_error *err) {
  const mn_run_state *rs = &c->rs;
  const mn_solver_scalars *sc = &c->sc;
  if (!in_range(sc->t_day, 0, 36500))
    return MN_ERR(err, MN_EINPUT, "", "checkpoint %s: t_day = %g is outside [0, 36500]", path,
                  sc->t_day);
  if (!in_range(sc->dt_day, 1e-300, 36500))
    return MN_ERR(err, MN_EINPUT, "", "checkpoint %s: dt_day = %g is outside (0, 36500]", path,
                  sc->dt_day);
  if (!in_range(sc->u_uv, 0, 1e6))
    return MN_ERR(err, MN_EINPUT, "", "checkpoint %s: u_uv = %g is outside [0, 1e6]", path,
                  sc->u_uv);
  if (sc->frozen != 0 && sc->frozen != 1)
    return MN_ERR(err, MN_EINPUT, "", "checkpoint %s: frozen = %d is not 0 or 1", path, sc->frozen);
  if (sc->steps < 0)
    return MN_ERR(err, MN_EINPUT, "", "checkpoint %s: steps = %ld is negative", path, sc->steps);
  if (rs->days != 0 && !in_range(rs->days, 0.01, 3650))
    return MN_ERR(err, MN_EINPUT, "", "checkpoint %s: days = %g is neither 0 nor in [0.01, 3650]",
                  path, rs->days);
  if (!in_range(rs->next_session, 0, MN_MAX_SESSIONS) ||
      !in_range(rs->next_snapshot, 0, MN_MAX_SNAPSHOTS) || rs->next_sample < 0 ||
      rs->next_sample != c->samples)
    return MN_ERR(err, MN_EINPUT, "",
                  "checkpoint %s: run_state = (%d, %d, %d) is outside [0, %d] sessions, [0, %d] "
                  "snapshots and %d samples",
                  path, rs->next_session, rs->next_sample, rs->next_snapshot, MN_MAX_SESSIONS,
                  MN_MAX_SNAPSHOTS, c->samples);
  return MN_OK;
}

/* The header of an open checkpoint; MN_EINPUT naming the first field that is missing, of the
 * wrong type or out of range. */
static int read_head(hid_t f, const char *path, ckpt_head *c, uint64_t *sum, mn_error *err) {
  memset(c, 0, sizeof *c);
  mn_run_state *rs = &c->rs;
  int run[3];
  struct {
    const char *name;
    hid_t type;
    void *v;
  } attrs[] = {{"t_day", H5T_NATIVE_DOUBLE, &c->sc.t_day},
               {"dt_day", H5T_NATIVE_DOUBLE, &c->sc.dt_day},
               {"u_uv", H5T_NATIVE_DOUBLE, &c->sc.u_uv},
               {"frozen", H5T_NATIVE_INT, &c->sc.frozen},
               {"steps", H5T_NATIVE_LONG, &c->sc.steps},
               {"samples", H5T_NATIVE_INT, &c->samples},
               {"seed", H5T_NATIVE_UINT64, &rs->seed},
               {"days", H5T_NATIVE_DOUBLE, &rs->days},
               {"case_hash", H5T_NATIVE_UINT64, &rs->case_hash},
               {"params_hash", H5T_NATIVE_UINT64, &rs->params_hash},
               {"checksum", H5T_NATIVE_UINT64, sum}};
  for (size_t i = 0; i < sizeof attrs / sizeof attrs[0]; i++)
    if (read_attr(f, attrs[i].name, attrs[i].type, attrs[i].v) < 0)
      return MN_ERR(err, MN_EINPUT, "",
                    "%s is not a checkpoint of this mnsim: attribute %s is missing or not a "
                    "number%s",
                    path, attrs[i].name,
                    i >= 7 ? " (an older mnsim wrote it? start the run again)" : "");
  if (read_str_attr(f, "case_file", rs->case_file, sizeof rs->case_file) < 0 ||
      read_str_attr(f, "build", rs->build, sizeof rs->build) < 0)
    return MN_ERR(err, MN_EINPUT, "",
                  "%s is not a checkpoint of this mnsim: attribute case_file or build is missing",
                  path);
  if (read_dataset(f, "grid_dims", H5T_NATIVE_INT, c->dims, 3) < 0 ||
      read_dataset(f, "run_state", H5T_NATIVE_INT, run, 3) < 0)
    return MN_ERR(err, MN_EINPUT, "",
                  "%s is not an mnsim checkpoint: dataset grid_dims or run_state is missing or "
                  "not 3 integers",
                  path);
  rs->next_session = run[0], rs->next_sample = run[1], rs->next_snapshot = run[2];
  return check_head(path, c, err);
}

/* Open a checkpoint for reading; MN_EINPUT naming it when it cannot be opened as HDF5. */
static hid_t open_checkpoint(const char *path, mn_error *err) {
  quiet();
  hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0)
    MN_ERR(err, MN_EINPUT, "", "cannot open checkpoint %s (missing, truncated or not HDF5)", path);
  return f;
}

/* Only the run state, to find the case file and the schedule position before any grid exists.
 * The checksum needs the fields: mn_checkpoint_read verifies it. */
int mn_checkpoint_read_state(const char *path, mn_run_state *rs, mn_error *err) {
  hid_t f = open_checkpoint(path, err);
  if (f < 0) return MN_EINPUT;
  ckpt_head c;
  uint64_t sum;
  int rc = read_head(f, path, &c, &sum, err);
  H5Fclose(f);
  if (rc == MN_OK) *rs = c.rs;
  return rc;
}

/* Every value read must be finite; the series' days must increase up to the checkpoint's day
 * and its session counts stay within those applied. */
static int check_content(const char *path, const ckpt_head *c, const mn_grid *g, const mn_solver *s,
                         const mn_timeseries *ts, mn_error *err) {
  for (int q = 0; q < MN_NSPECIES; q++) {
    const float *f = mn_solver_field_c(s, q);
    for (int k = 0; k < g->nz; k++)
      for (int j = 0; j < g->ny; j++)
        for (int i = 0; i < g->nx; i++)
          if (!isfinite(f[mn_grid_at(g, i, j, k)]))
            return MN_ERR(err, MN_EINPUT, "",
                          "checkpoint %s: species %s = %g at cell (%d, %d, %d) is not finite", path,
                          mn_species_name(q), f[mn_grid_at(g, i, j, k)], i, j, k);
  }
  for (int i = 0; i < c->samples; i++) {
    double lo = i ? ts->t[i - 1] : 0;
    if (!in_range(ts->t[i], lo, c->sc.t_day + 1e-9))
      return MN_ERR(err, MN_EINPUT, "", "checkpoint %s: ts_t[%d] = %g is outside [%g, %g]", path, i,
                    ts->t[i], lo, c->sc.t_day);
    if (ts->session[i] < 0 || ts->session[i] > c->rs.next_session)
      return MN_ERR(err, MN_EINPUT, "", "checkpoint %s: ts_session[%d] = %d is outside [0, %d]",
                    path, i, ts->session[i], c->rs.next_session);
    if (!isfinite(ts->redness[i]))
      return MN_ERR(err, MN_EINPUT, "", "checkpoint %s: ts_redness[%d] = %g is not finite", path, i,
                    ts->redness[i]);
  }
  size_t nm = (size_t)c->samples * MN_LAYER_HYPO * MN_NSPECIES;
  for (size_t i = 0; i < nm; i++)
    if (!isfinite(ts->mean[i]))
      return MN_ERR(err, MN_EINPUT, "", "checkpoint %s: ts_mean[%zu] = %g is not finite", path, i,
                    ts->mean[i]);
  return MN_OK;
}

/* The header (each value in range), the grid (grid_dims) and the series' room (samples) first;
 * then the fields and the series, the checksum over all of it, and the values' ranges; the
 * solver's scalars are set last. A failure after the first field has been read leaves the
 * solver's fields (and ts->n) partly overwritten: the caller must not continue that run. */
int mn_checkpoint_read(const char *path, const mn_grid *g, mn_solver *s, mn_run_state *rs,
                       mn_timeseries *ts, mn_error *err) {
  hid_t f = open_checkpoint(path, err);
  if (f < 0) return MN_EINPUT;
  int rc = MN_OK;
  ckpt_head c;
  uint64_t sum;
  if ((rc = read_head(f, path, &c, &sum, err))) goto done;
  if (c.dims[0] != g->nx || c.dims[1] != g->ny || c.dims[2] != g->nz) {
    rc = MN_ERR(err, MN_EINPUT, "",
                "checkpoint %s is for a %d x %d x %d grid; the case gives %d x %d x %d", path,
                c.dims[0], c.dims[1], c.dims[2], g->nx, g->ny, g->nz);
    goto done;
  }
  if (c.samples > ts->cap) {
    rc = MN_ERR(err, MN_EINPUT, "", "checkpoint %s: samples = %d is outside [0, %d]", path,
                c.samples, ts->cap);
    goto done;
  }
  for (int q = 0; q < MN_NSPECIES; q++) {
    if (read_field(f, mn_species_name(q), g, mn_solver_field(s, q)) < 0) {
      rc = MN_ERR(err, MN_EINPUT, "", "checkpoint %s: cannot read species %s (%d x %d x %d)", path,
                  mn_species_name(q), g->nx, g->ny, g->nz);
      goto done;
    }
  }
  int n = c.samples;
  ts->n = n;
  if (n > 0 && (read_dataset(f, "ts_t", H5T_NATIVE_DOUBLE, ts->t, (hsize_t)n) < 0 ||
                read_dataset(f, "ts_session", H5T_NATIVE_INT, ts->session, (hsize_t)n) < 0 ||
                read_dataset(f, "ts_redness", H5T_NATIVE_DOUBLE, ts->redness, (hsize_t)n) < 0 ||
                read_dataset(f, "ts_mean", H5T_NATIVE_DOUBLE, ts->mean,
                             (hsize_t)n * MN_LAYER_HYPO * MN_NSPECIES) < 0)) {
    rc = MN_ERR(err, MN_EINPUT, "", "checkpoint %s: cannot read the time series (%d samples)", path,
                n);
    goto done;
  }
  uint64_t have = content_sum(&c, g, s, ts);
  if (have != sum) {
    rc = MN_ERR(err, MN_EINPUT, "",
                "checkpoint %s is damaged: its checksum is %016llx, its content gives %016llx",
                path, (unsigned long long)sum, (unsigned long long)have);
    goto done;
  }
  if ((rc = check_content(path, &c, g, s, ts, err))) goto done;
  *rs = c.rs;
  mn_solver_set_scalars(s, &c.sc);
done:
  H5Fclose(f);
  return rc;
}
