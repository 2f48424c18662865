/* The process group over MPI, or a group of one (see dist.h). */
#include "train/dist.h"

#include <stdlib.h>

#ifdef C2SEG_HAVE_MPI
#include <mpi.h>
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
