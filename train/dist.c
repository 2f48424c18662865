/* The process group over MPI, or a group of one (see dist.h). */
#include "train/dist.h"

#include <stdlib.h>

#ifdef C2SEG_HAVE_MPI
#include <mpi.h>
#endif

#ifdef C2SEG_MPI_SONAME
/* Open MPI is opened when a launcher starts c2seg (dist_init), not linked: libmpi brings
 * open-rte, open-pal, hwloc and libevent to every command's start (docs/performance.md,
 * "fixed costs"). Its handles (MPI_COMM_WORLD, MPI_FLOAT, ...) are the addresses of
 * predefined objects in the library, so they come from the table too; the MPI names below
 * stand for the table's entries. RTLD_GLOBAL: Open MPI's plug-ins use libmpi's symbols. */
static struct {
    __typeof__(MPI_Init) *init;
    __typeof__(MPI_Finalize) *finalize;
    __typeof__(MPI_Comm_rank) *comm_rank;
    __typeof__(MPI_Comm_size) *comm_size;
    __typeof__(MPI_Allreduce) *allreduce;
    __typeof__(MPI_Bcast) *bcast;
    __typeof__(MPI_Type_contiguous) *type_contiguous;
    __typeof__(MPI_Type_commit) *type_commit;
    __typeof__(MPI_Type_free) *type_free;
    __typeof__(MPI_Allgatherv) *allgatherv;
    void *comm_world, *op_sum, *op_min, *t_null, *t_byte, *t_int, *t_float, *t_double;
} mp;
static const char *const mp_names[] = {
    "MPI_Init",           "MPI_Finalize",        "MPI_Comm_rank",         "MPI_Comm_size",
    "MPI_Allreduce",      "MPI_Bcast",           "MPI_Type_contiguous",   "MPI_Type_commit",
    "MPI_Type_free",      "MPI_Allgatherv",      "ompi_mpi_comm_world",   "ompi_mpi_op_sum",
    "ompi_mpi_op_min",    "ompi_mpi_datatype_null", "ompi_mpi_byte",      "ompi_mpi_int",
    "ompi_mpi_float",     "ompi_mpi_double"};
static c2_lazylib mp_lib = {C2SEG_MPI_SONAME, "a run under an MPI launcher", 1, mp_names,
                            sizeof mp_names / sizeof mp_names[0], &mp, sizeof mp, 0, 0};
#undef MPI_COMM_WORLD
#undef MPI_SUM
#undef MPI_MIN
#undef MPI_DATATYPE_NULL
#undef MPI_BYTE
#undef MPI_INT
#undef MPI_FLOAT
#undef MPI_DOUBLE
#define MPI_COMM_WORLD ((MPI_Comm)mp.comm_world)
#define MPI_SUM ((MPI_Op)mp.op_sum)
#define MPI_MIN ((MPI_Op)mp.op_min)
#define MPI_DATATYPE_NULL ((MPI_Datatype)mp.t_null)
#define MPI_BYTE ((MPI_Datatype)mp.t_byte)
#define MPI_INT ((MPI_Datatype)mp.t_int)
#define MPI_FLOAT ((MPI_Datatype)mp.t_float)
#define MPI_DOUBLE ((MPI_Datatype)mp.t_double)
#define MPI_Init mp.init
#define MPI_Finalize mp.finalize
#define MPI_Comm_rank mp.comm_rank
#define MPI_Comm_size mp.comm_size
#define MPI_Allreduce mp.allreduce
#define MPI_Bcast mp.bcast
#define MPI_Type_contiguous mp.type_contiguous
#define MPI_Type_commit mp.type_commit
#define MPI_Type_free mp.type_free
#define MPI_Allgatherv mp.allgatherv
#endif

static int g_rank = 0, g_size = 1, g_joined = 0;

/* The size a launcher announces in the environment (Open MPI, PMI, PMIx), or 0. */
static int launcher_size(void)
{
    const char *keys[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const char *v = getenv(keys[i]);
        if (v && *v)
            return atoi(v);
    }
    return getenv("PMIX_RANK") ? 2 : 0;   /* srun --mpi=pmix sets the rank only */
}

int dist_compiled(void)
{
#ifdef C2SEG_HAVE_MPI
    return 1;
#else
    return 0;
#endif
}

int dist_init(c2_err *e)
{
    if (g_joined)
        return C2_OK;
    int announced = launcher_size();
#ifdef C2SEG_HAVE_MPI
    if (announced > 0) {
#ifdef C2SEG_MPI_SONAME
        int rc = c2_lazylib_open(&mp_lib, e);
        if (rc != C2_OK)
            return rc;
#endif
        if (MPI_Init(NULL, NULL) != MPI_SUCCESS)
            return c2_fail(e, C2_EIO, "MPI_Init failed under the launcher (%d ranks announced)", announced);
        MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
        MPI_Comm_size(MPI_COMM_WORLD, &g_size);
        g_joined = 1;
    }
#else
    if (announced > 1)
        return c2_fail(e, C2_EINVAL,
                       "started by an MPI launcher with %d ranks, but this c2seg was built without MPI "
                       "(install libopenmpi-dev and rebuild with -DC2SEG_MPI=ON)",
                       announced);
#endif
    return C2_OK;
}

void dist_finalize(void)
{
#ifdef C2SEG_HAVE_MPI
    if (g_joined)
        MPI_Finalize();
#endif
    g_joined = 0;
    g_rank = 0;
    g_size = 1;
}

int dist_rank(void) { return g_rank; }
int dist_size(void) { return g_size; }

#ifdef C2SEG_HAVE_MPI
/* MPI counts are int: large buffers go in chunks of at most 2^30 elements. */
#define DIST_CHUNK ((size_t)1 << 30)

/* buf [n] elements of `size` bytes and MPI type `type`, summed over the ranks in place. */
static void sum_in_place(void *buf, size_t n, size_t size, MPI_Datatype type)
{
    for (size_t o = 0; g_size > 1 && o < n; o += DIST_CHUNK) {
        size_t k = n - o < DIST_CHUNK ? n - o : DIST_CHUNK;
        MPI_Allreduce(MPI_IN_PLACE, (char *)buf + o * size, (int)k, type, MPI_SUM, MPI_COMM_WORLD);
    }
}

void dist_sum_floats(float *buf, size_t n) { sum_in_place(buf, n, sizeof *buf, MPI_FLOAT); }
void dist_sum_doubles(double *buf, size_t n) { sum_in_place(buf, n, sizeof *buf, MPI_DOUBLE); }
#else
/* one process: the sum over the ranks is the buffer itself */
void dist_sum_floats(float *buf, size_t n) { (void)buf, (void)n; }
void dist_sum_doubles(double *buf, size_t n) { (void)buf, (void)n; }
#endif

void dist_gather_floats(float *all, const int *count, const int *displ)
{
    dist_gather_rows(all, sizeof *all, count, displ);
}

void dist_broadcast_floats(float *buf, size_t n)
{
#ifdef C2SEG_HAVE_MPI
    for (size_t o = 0; g_size > 1 && o < n; o += DIST_CHUNK) {
        size_t k = n - o < DIST_CHUNK ? n - o : DIST_CHUNK;
        MPI_Bcast(buf + o, (int)k, MPI_FLOAT, 0, MPI_COMM_WORLD);
    }
#else
    (void)buf;
    (void)n;
#endif
}

void dist_gather_rows(void *all, size_t row_bytes, const int *count, const int *displ)
{
#ifdef C2SEG_HAVE_MPI
    if (g_size > 1 && row_bytes > 0) {   /* one MPI type per row, so counts stay small */
        MPI_Datatype row;
        MPI_Type_contiguous((int)row_bytes, MPI_BYTE, &row);
        MPI_Type_commit(&row);
        MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, all, count, displ, row, MPI_COMM_WORLD);
        MPI_Type_free(&row);
    }
#else
    (void)all;
    (void)row_bytes;
    (void)count;
    (void)displ;
#endif
}

int dist_agree(int rc)
{
#ifdef C2SEG_HAVE_MPI
    if (g_size > 1) {
        int all = rc;
        MPI_Allreduce(MPI_IN_PLACE, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
        return all;
    }
#endif
    return rc;
}
