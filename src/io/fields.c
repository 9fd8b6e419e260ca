/* HDF5 snapshots, their merge into fields.h5 with the mesh, the XDMF description for ParaView,
 * and checkpoints of `mnsim simulate`. Every file is written under a temporary name and renamed;
 * object timestamps are off so that identical data give identical files. Pipeline: io; the CLI
 * calls it from the run loop. Reference: docs/formats.md (fields.h5, fields.xdmf, checkpoints). */
#include <hdf5.h>
#include <math.h>
#include <string.h>

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
 *     attributes t_day, dt_day, u_uv (solver scalars), frozen, steps, samples, seed, case_file
 *     grid_dims [3] = nx, ny, nz; run_state [3] = next session, next sample, next snapshot
 *     <species>              [nz][ny][nx] float64, uncompressed: the state to resume from
 *     ts_t, ts_session, ts_redness [samples]; ts_mean [samples x 4 layers x species], flat
 * Fields and coordinates have fixed little-endian IEEE types; the checkpoint's integers are
 * stored with native types. */

/* HDF5 prints its error stack unless told not to; the library never prints. */
static void quiet(void) {
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
static int write_field(hid_t loc, const char *name, const mn_grid *g, const double *f,
                       hid_t file_type, int deflate) {
  hsize_t dims[3] = {(hsize_t)g->nz, (hsize_t)g->ny, (hsize_t)g->nx};
  hsize_t mdims[3] = {(hsize_t)g->nz, (hsize_t)(g->sz / g->sy), (hsize_t)g->sy};
  hsize_t start[3] = {0, (hsize_t)g->ng, (hsize_t)g->ox};
  hid_t sp = H5Screate_simple(3, dims, NULL), ms = H5Screate_simple(3, mdims, NULL);
  hid_t p = dcpl_for(dims[0], dims[1], dims[2], deflate);
  herr_t r = H5Sselect_hyperslab(ms, H5S_SELECT_SET, start, NULL, dims, NULL);
  hid_t d = r < 0 ? -1 : H5Dcreate2(loc, name, file_type, sp, H5P_DEFAULT, p, H5P_DEFAULT);
  r = d < 0 ? -1 : H5Dwrite(d, H5T_NATIVE_DOUBLE, ms, H5S_ALL, H5P_DEFAULT, f);
  if (d >= 0) H5Dclose(d);
  H5Pclose(p);
  H5Sclose(ms);
  H5Sclose(sp);
  return r < 0 ? -1 : 0;
}

/* A grid field's interior read straight into the field (the halo keeps its values). */
static int read_field(hid_t loc, const char *name, const mn_grid *g, double *f) {
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
  r = r < 0 ? -1 : H5Dread(d, H5T_NATIVE_DOUBLE, ms, H5S_ALL, H5P_DEFAULT, f);
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

/* Close the file, then put it in place, or discard the temporary when anything failed before
 * (@p bad) or the close itself fails. */
static int h5_close_atomic(mn_ofile *of, hid_t f, int bad, mn_error *err) {
  if (H5Fclose(f) < 0) bad = 1;
  if (bad) {
    mn_ofile_abort(of);
    return MN_ERR(err, MN_EIO, "", "cannot write HDF5 file %s", of->path);
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

/* Everything a resumed run needs to continue bit-identically: the solver's scalars, the run
 * state, every field in double precision and the time series so far (see the layout above). */
int mn_checkpoint_write(const char *path, const mn_grid *g, const mn_solver *s,
                        const mn_run_state *rs, const mn_timeseries *ts, mn_error *err) {
  mn_ofile of;
  hid_t f = h5_open_atomic(&of, path, err);
  if (f < 0) return err ? err->code : MN_EIO;
  mn_solver_scalars sc;
  mn_solver_get_scalars(s, &sc);
  int dims[3] = {g->nx, g->ny, g->nz},
      run[3] = {rs->next_session, rs->next_sample, rs->next_snapshot};
  int frozen = sc.frozen, n = ts->n;
  long steps = sc.steps;
  int bad = write_attr(f, "t_day", H5T_NATIVE_DOUBLE, &sc.t_day) < 0;
  bad |= write_attr(f, "dt_day", H5T_NATIVE_DOUBLE, &sc.dt_day) < 0;
  bad |= write_attr(f, "u_uv", H5T_NATIVE_DOUBLE, &sc.u_uv) < 0;
  bad |= write_attr(f, "frozen", H5T_NATIVE_INT, &frozen) < 0;
  bad |= write_attr(f, "steps", H5T_NATIVE_LONG, &steps) < 0;
  bad |= write_attr(f, "samples", H5T_NATIVE_INT, &n) < 0;
  bad |= write_attr(f, "seed", H5T_NATIVE_UINT64, &rs->seed) < 0;
  hid_t str = H5Tcopy(H5T_C_S1);
  H5Tset_size(str, sizeof rs->case_file);
  bad |= write_attr(f, "case_file", str, rs->case_file) < 0;
  hsize_t three = 3;
  bad |= write_dataset(f, "grid_dims", 1, &three, H5T_NATIVE_INT, H5T_NATIVE_INT, dims, 0) < 0;
  bad |= write_dataset(f, "run_state", 1, &three, H5T_NATIVE_INT, H5T_NATIVE_INT, run, 0) < 0;
  for (int q = 0; q < MN_NSPECIES && !bad; q++)
    bad |= write_field(f, mn_species_name(q), g, mn_solver_field_c(s, q), H5T_IEEE_F64LE, 0) < 0;
  if (n > 0 && !bad) {
    hsize_t nn = (hsize_t)n, nm = (hsize_t)n * MN_LAYER_HYPO * MN_NSPECIES;
    bad |= write_dataset(f, "ts_t", 1, &nn, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, ts->t, 0) < 0;
    bad |=
        write_dataset(f, "ts_session", 1, &nn, H5T_NATIVE_INT, H5T_NATIVE_INT, ts->session, 0) < 0;
    bad |= write_dataset(f, "ts_redness", 1, &nn, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, ts->redness,
                         0) < 0;
    bad |= write_dataset(f, "ts_mean", 1, &nm, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, ts->mean, 0) < 0;
  }
  H5Tclose(str);
  return h5_close_atomic(&of, f, bad, err);
}

/* The run state's fields of an open checkpoint: schedule position, seed and case file name. */
static int read_run_state(hid_t f, mn_run_state *rs) {
  int run[3];
  uint64_t seed;
  if (read_dataset(f, "run_state", H5T_NATIVE_INT, run, 3) < 0 ||
      read_attr(f, "seed", H5T_NATIVE_UINT64, &seed) < 0)
    return -1;
  *rs = (mn_run_state){run[0], run[1], run[2], seed, ""};
  hid_t str = H5Tcopy(H5T_C_S1);
  H5Tset_size(str, sizeof rs->case_file);
  if (read_attr(f, "case_file", str, rs->case_file) < 0) rs->case_file[0] = '\0';
  rs->case_file[sizeof rs->case_file - 1] = '\0';
  H5Tclose(str);
  return 0;
}

/* Only the run state, to find the case file and the schedule position before any grid exists. */
int mn_checkpoint_read_state(const char *path, mn_run_state *rs, mn_error *err) {
  quiet();
  hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0) return MN_ERR(err, MN_EINPUT, "", "cannot open checkpoint %s", path);
  int rc = read_run_state(f, rs) < 0
               ? MN_ERR(err, MN_EINPUT, "", "%s is not an mnsim checkpoint (missing fields)", path)
               : MN_OK;
  H5Fclose(f);
  return rc;
}

/* The grid must match the case's (grid_dims) and the samples must fit the series; then the
 * fields and the series are read, and the solver's scalars set last. A failure after the first
 * field has been read leaves the solver's fields (and ts->n) partly overwritten: the caller
 * must not continue that run. */
int mn_checkpoint_read(const char *path, const mn_grid *g, mn_solver *s, mn_run_state *rs,
                       mn_timeseries *ts, mn_error *err) {
  quiet();
  hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0) return MN_ERR(err, MN_EINPUT, "", "cannot open checkpoint %s", path);
  int rc = MN_OK, dims[3], frozen, n;
  long steps;
  mn_solver_scalars sc;
  if (read_dataset(f, "grid_dims", H5T_NATIVE_INT, dims, 3) < 0 || read_run_state(f, rs) < 0 ||
      read_attr(f, "t_day", H5T_NATIVE_DOUBLE, &sc.t_day) < 0 ||
      read_attr(f, "dt_day", H5T_NATIVE_DOUBLE, &sc.dt_day) < 0 ||
      read_attr(f, "u_uv", H5T_NATIVE_DOUBLE, &sc.u_uv) < 0 ||
      read_attr(f, "frozen", H5T_NATIVE_INT, &frozen) < 0 ||
      read_attr(f, "steps", H5T_NATIVE_LONG, &steps) < 0 ||
      read_attr(f, "samples", H5T_NATIVE_INT, &n) < 0) {
    rc = MN_ERR(err, MN_EINPUT, "", "%s is not an mnsim checkpoint (missing fields)", path);
    goto done;
  }
  if (dims[0] != g->nx || dims[1] != g->ny || dims[2] != g->nz) {
    rc = MN_ERR(err, MN_EINPUT, "",
                "checkpoint %s is for a %d x %d x %d grid; the case gives %d x %d x %d", path,
                dims[0], dims[1], dims[2], g->nx, g->ny, g->nz);
    goto done;
  }
  if (n < 0 || n > ts->cap) {
    rc = MN_ERR(err, MN_EINPUT, "", "checkpoint %s holds %d samples; the case allows %d", path, n,
                ts->cap);
    goto done;
  }
  for (int q = 0; q < MN_NSPECIES; q++) {
    if (read_field(f, mn_species_name(q), g, mn_solver_field(s, q)) < 0) {
      rc = MN_ERR(err, MN_EINPUT, "", "checkpoint %s: cannot read species %s", path,
                  mn_species_name(q));
      goto done;
    }
  }
  ts->n = n;
  if (n > 0 && (read_dataset(f, "ts_t", H5T_NATIVE_DOUBLE, ts->t, (hsize_t)n) < 0 ||
                read_dataset(f, "ts_session", H5T_NATIVE_INT, ts->session, (hsize_t)n) < 0 ||
                read_dataset(f, "ts_redness", H5T_NATIVE_DOUBLE, ts->redness, (hsize_t)n) < 0 ||
                read_dataset(f, "ts_mean", H5T_NATIVE_DOUBLE, ts->mean,
                             (hsize_t)n * MN_LAYER_HYPO * MN_NSPECIES) < 0)) {
    rc = MN_ERR(err, MN_EINPUT, "", "checkpoint %s: cannot read the time series", path);
    goto done;
  }
  sc.frozen = frozen;
  sc.steps = steps;
  mn_solver_set_scalars(s, &sc);
done:
  H5Fclose(f);
  return rc;
}
