/* fault.c - SQLite's allocator and file writes failing on purpose, for the
 * tests of error paths (util/fault.h; -Dfault_injection=true builds only).
 *
 * The allocator wraps SQLite's own (SQLITE_CONFIG_MALLOC); the files are
 * opened through a VFS of ours, registered as the default, that forwards
 * every call to the real one and fails writes, syncs and truncations when
 * told to. */
#include "store/sqlite/sq.h"

#include "util/fault.h"

static sqlite3_mem_methods real_mem;

static void *fault_malloc(int n)
{
	return nd_fault(ND_FAULT_ALLOC) ? NULL : real_mem.xMalloc(n);
}

static void *fault_realloc(void *p, int n)
{
	return nd_fault(ND_FAULT_ALLOC) ? NULL : real_mem.xRealloc(p, n);
}

/* A file of ours: the real one follows it in the same allocation. */
struct ffile {
	sqlite3_file base;
	sqlite3_file *real;
};

static sqlite3_vfs *real_vfs;

#define REAL(f) (((struct ffile *)(f))->real)

static int f_close(sqlite3_file *f)
{
	return REAL(f)->pMethods->xClose(REAL(f));
}

static int f_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off)
{
	return REAL(f)->pMethods->xRead(REAL(f), buf, n, off);
}

static int f_write(sqlite3_file *f, const void *buf, int n, sqlite3_int64 off)
{
	if (nd_fault(ND_FAULT_IO))
		return SQLITE_IOERR_WRITE;
	return REAL(f)->pMethods->xWrite(REAL(f), buf, n, off);
}

static int f_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	if (nd_fault(ND_FAULT_IO))
		return SQLITE_IOERR_TRUNCATE;
	return REAL(f)->pMethods->xTruncate(REAL(f), size);
}

static int f_sync(sqlite3_file *f, int flags)
{
	if (nd_fault(ND_FAULT_IO))
		return SQLITE_IOERR_FSYNC;
	return REAL(f)->pMethods->xSync(REAL(f), flags);
}

static int f_size(sqlite3_file *f, sqlite3_int64 *size)
{
	return REAL(f)->pMethods->xFileSize(REAL(f), size);
}

static int f_lock(sqlite3_file *f, int lock)
{
	return REAL(f)->pMethods->xLock(REAL(f), lock);
}

static int f_unlock(sqlite3_file *f, int lock)
{
	return REAL(f)->pMethods->xUnlock(REAL(f), lock);
}

static int f_reserved(sqlite3_file *f, int *out)
{
	return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}

static int f_control(sqlite3_file *f, int op, void *arg)
{
	return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}

static int f_sector(sqlite3_file *f)
{
	return REAL(f)->pMethods->xSectorSize(REAL(f));
}

static int f_device(sqlite3_file *f)
{
	return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}

static int f_shm_map(sqlite3_file *f, int region, int size, int extend, void volatile **out)
{
	return REAL(f)->pMethods->xShmMap(REAL(f), region, size, extend, out);
}

static int f_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
	return REAL(f)->pMethods->xShmLock(REAL(f), offset, n, flags);
}

static void f_shm_barrier(sqlite3_file *f)
{
	REAL(f)->pMethods->xShmBarrier(REAL(f));
}

static int f_shm_unmap(sqlite3_file *f, int delete_flag)
{
	return REAL(f)->pMethods->xShmUnmap(REAL(f), delete_flag);
}

static int f_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **out)
{
	return REAL(f)->pMethods->xFetch(REAL(f), off, n, out);
}

static int f_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
	return REAL(f)->pMethods->xUnfetch(REAL(f), off, p);
}

static const sqlite3_io_methods fio = {
	.iVersion = 3,
	.xClose = f_close,
	.xRead = f_read,
	.xWrite = f_write,
	.xTruncate = f_truncate,
	.xSync = f_sync,
	.xFileSize = f_size,
	.xLock = f_lock,
	.xUnlock = f_unlock,
	.xCheckReservedLock = f_reserved,
	.xFileControl = f_control,
	.xSectorSize = f_sector,
	.xDeviceCharacteristics = f_device,
	.xShmMap = f_shm_map,
	.xShmLock = f_shm_lock,
	.xShmBarrier = f_shm_barrier,
	.xShmUnmap = f_shm_unmap,
	.xFetch = f_fetch,
	.xUnfetch = f_unfetch,
};

static sqlite3_vfs fvfs;

static int f_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags, int *out)
{
	struct ffile *f = (struct ffile *)file;
	f->real = (sqlite3_file *)(f + 1);
	int rc = real_vfs->xOpen(real_vfs, name, f->real, flags, out);
	/* SQLite closes what xOpen left with methods, even when it failed. */
	f->base.pMethods = f->real->pMethods ? &fio : NULL;
	return rc;
}

void sq_fault_install(void)
{
	sqlite3_mem_methods mem;
	sqlite3_config(SQLITE_CONFIG_GETMALLOC, &real_mem);
	mem = real_mem;
	mem.xMalloc = fault_malloc;
	mem.xRealloc = fault_realloc;
	sqlite3_config(SQLITE_CONFIG_MALLOC, &mem);
	/* The real VFS must be a version 3 one whose files have version 3
	 * methods (the unix VFS has been since SQLite 3.7.17). */
	real_vfs = sqlite3_vfs_find(NULL);
	if (!real_vfs)
		return; /* SQLite failed to initialise: the failure asked for */
	fvfs = *real_vfs;
	fvfs.zName = "notifd-faults";
	fvfs.szOsFile = (int)sizeof(struct ffile) + real_vfs->szOsFile;
	fvfs.xOpen = f_open;
	sqlite3_vfs_register(&fvfs, 1);
}
