/*
 * datum.hpp: C++ values to PostgreSQL datums, through pg::Call.
 */
#pragma once

#include <string>
#include <vector>

#include "guard.hpp"

namespace pgc::pg {

/* A text datum in the current memory context. */
Datum TextDatum(const std::string &value);

/* A text[] datum in the current memory context. */
Datum TextArrayDatum(const std::vector<std::string> &values);

/* A heap tuple datum of the calling function's result row type (which must be composite). */
Datum ResultRow(FunctionCallInfo fcinfo, Datum *values, bool *nulls);

/* The rows a set-returning function returns, kept in a tuplestore (materialize mode). */
class ResultSet
{
  public:
	explicit ResultSet(FunctionCallInfo fcinfo);
	/* Adds a row of the function's result type. */
	void Add(Datum *values, bool *nulls);

  private:
	ReturnSetInfo *info_;
};

} // namespace pgc::pg
