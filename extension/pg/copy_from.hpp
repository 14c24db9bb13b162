/*
 * copy_from.hpp: PostgreSQL's own COPY FROM machinery fed from C++, as COPY table FROM STDIN would be.
 */
#pragma once

#include <string>
#include <vector>

#include "guard.hpp"

namespace pgc::pg {

/* What COPY FROM reads its data from. */
class CopySource
{
  public:
	/* Fills `out` with at least `minread` bytes (fewer only at the end of the data) and at most `maxread`. */
	virtual int Read(char *out, int minread, int maxread) = 0;

  protected:
	~CopySource() = default;
};

/*
 * Runs COPY FROM on table `relid`, into `columns`, with `source` as its data: binary format, or text in the
 * database's encoding. Checks INSERT privilege on those columns as COPY does (42501). Returns the rows loaded;
 * an error `source` throws comes out of it with its own SQLSTATE.
 */
uint64 CopyIntoTable(Oid relid, const std::vector<std::string> &columns, bool binary, CopySource &source);

} // namespace pgc::pg
