/*
 * plan.hpp: the load plan from the source's catalogs: load order from the foreign-key graph, foreign-key
 * cycles, and which columns hold user IDs. Pure C++: the extension feeds it catalog rows read over libpq.
 */
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/remap.hpp"

namespace pgc::core {

struct PlanColumn {
	std::string name;
	std::string type;	   /* as format_type prints it, e.g. "uuid", "text[]" */
	std::string base_type; /* the same with domains resolved to their base type */
	bool not_null = false;
	bool generated = false;	  /* GENERATED ALWAYS AS (...) STORED */
	bool has_default = false; /* a DEFAULT or an identity: a load that leaves it out still fills it */
};

struct PlanTable {
	std::string schema;
	std::string name;
	std::optional<std::int64_t> row_estimate; /* none when the source never analyzed the table */
	std::vector<PlanColumn> columns;
	bool planned = false; /* in one of the chosen schemas (others only lend their keys to the graph) */
};

struct ForeignKey {
	std::string name;
	std::size_t from = 0; /* index of the referencing table */
	std::vector<std::string> from_columns;
	std::size_t to = 0; /* index of the referenced table */
	std::vector<std::string> to_columns;
};

/*
 * A column marked by hand (migrate_remap_column): Strict makes it a user-ID column, Off keeps it out even when a
 * foreign key leads to users (and the columns reached through it too), Embedded opts it in for IDs inside
 * longer strings.
 */
struct RemapMark {
	std::string schema;
	std::string table;
	std::string column;
	RemapMode mode = RemapMode::Strict;
};

/*
 * The remap mode of column schema.table.column: its mark, else Strict for a user-ID column (one of
 * `user_id_columns`: a foreign key leads to the users), else Value.
 */
RemapMode ColumnMode(const std::vector<RemapMark> &marks, const std::string &schema, const std::string &table,
					 const std::string &column, const std::vector<std::string> &user_id_columns = {});

struct UserIdColumn {
	std::string column;
	std::string reason; /* "public.profiles.id (sites_created_by_fkey)", "marked by hand", ... */
};

struct TablePlan {
	std::size_t table = 0;				/* index into the tables given */
	int level = 0;						/* 0 loads first; a table comes after every table it references */
	std::vector<std::string> cycle;		/* names of the foreign keys of its cycle (self-references too) */
	std::vector<UserIdColumn> user_ids; /* in column order */
	std::vector<std::string> problems;	/* empty when the table can be moved as planned */
	std::string load;					/* how the table will be loaded, in words */
};

/* Where the user IDs live: the table and column every user-ID foreign key leads to (auth.users.id). */
struct UserIdRoot {
	std::string schema = "auth";
	std::string table = "users";
	std::string column = "id";
};

/* Tables and foreign keys of one database, as CatalogTablesSql and CatalogKeysSql return them. */
struct Catalog {
	std::vector<PlanTable> tables;
	std::vector<ForeignKey> keys;
};

/* A query result as text: rows of fields, std::nullopt for NULL. */
using TextRows = std::vector<std::vector<std::optional<std::string>>>;

/*
 * Every ordinary and partitioned table (partitions aside) outside the system schemas, one row per column:
 * oid, schema, name, row estimate, planned (schema in $1, a text[]), column, type, base type, not null,
 * generated, has a default (or is an identity). Plain SQL that PostgreSQL 13 and later answer, on the source over libpq
 * or on the target.
 */
const char *CatalogTablesSql();
/* Every foreign key between such tables, one row per column pair: oid, name, from oid, to oid, columns. */
const char *CatalogKeysSql();
/* The schemas of $1 (a text[]) that the database does not have: a typo, not an empty plan, on either side. */
const char *MissingSchemasSql();
/* The catalog from the rows of those two queries. */
Catalog BuildCatalog(const TextRows &table_rows, const TextRows &key_rows);

/* Whether a column of this (base) type can be a user-ID column: uuid or a string type, or an array of them. */
bool CanHoldUserIds(const std::string &base_type);

/*
 * Plans every table marked `planned`, ordered by level and then by schema and name. Foreign keys between
 * planned tables decide the levels; tables of one cycle share a level and their cycle names its keys.
 * User-ID columns are the root column, then every column whose foreign key leads to a user-ID column, to a
 * fixpoint; marks add columns or keep them out.
 */
std::vector<TablePlan> PlanLoad(const std::vector<PlanTable> &tables, const std::vector<ForeignKey> &keys,
								const std::vector<RemapMark> &marks, const UserIdRoot &root = {});

/*
 * The plan of the one table schema.name of `catalog` (its user-ID columns, its problems), the other tables
 * only lending their keys; std::nullopt when the catalog has no such table.
 */
std::optional<TablePlan> PlanOneTable(const Catalog &catalog, const std::string &schema, const std::string &name,
									  const std::vector<RemapMark> &marks);

} // namespace pgc::core
