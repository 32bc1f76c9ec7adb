#ifndef TWINSLOT_CARCHIVE_SHIM_H
#define TWINSLOT_CARCHIVE_SHIM_H
#include <archive.h>
#include <archive_entry.h>

/* libarchive's file-type constants are cast macros, which Swift does not import. */
static const unsigned int ts_AE_IFMT = AE_IFMT;
static const unsigned int ts_AE_IFREG = AE_IFREG;
static const unsigned int ts_AE_IFDIR = AE_IFDIR;
static const unsigned int ts_AE_IFLNK = AE_IFLNK;
static const unsigned int ts_AE_IFCHR = AE_IFCHR;
static const unsigned int ts_AE_IFBLK = AE_IFBLK;
static const unsigned int ts_AE_IFIFO = AE_IFIFO;
static const unsigned int ts_AE_IFSOCK = AE_IFSOCK;
#endif
