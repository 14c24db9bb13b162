/*
 * spi.hpp: SPI as a C++ object. Connects on construction and finishes on destruction; every SPI call goes
 * through pg::Call, so a failing statement arrives as a pgc::Error with its own SQLSTATE.
 */
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "guard.hpp"

namespace pgc::pg {

/* A query parameter: its type and its value as text (NULL when empty optional). */
struct SpiArg {
	Oid type;
	std::optional<std::string> text;
};

class Spi
{
  public:
	Spi();
	~Spi();
	Spi(const Spi &) = delete;
	Spi &operator=(const Spi &) = delete;

	/* Runs one statement; parameters $1..$n are given as text and converted by their types' input functions. */
	void Execute(const std::string &sql, bool read_only, const std::vector<SpiArg> &args = {});

	uint64_t
	Rows() const
	{
		return rows_;
	}
	/* The columns of the last statement's rows (0 when it returned none). */
	int Columns() const;
	bool IsNull(uint64_t row, int column) const;
	std::string GetText(uint64_t row, int column) const;
	int64_t GetInt64(uint64_t row, int column) const;
	/* The bytes of a bytea value (empty for NULL). */
	std::string GetBytes(uint64_t row, int column) const;

  private:
	uint64_t rows_ = 0;
	int exceptions_at_start_;
};

} // namespace pgc::pg
