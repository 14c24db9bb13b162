/*
 * copy_from.cpp: COPY FROM with a C++ data source.
 */
#include "pg/copy_from.hpp"

#include "pg/compat.hpp"

namespace pgc::pg {

namespace {

/* The source of the COPY FROM running now: COPY FROM's data-source callback takes no argument of its own. */
CopySource *active_source = nullptr;

/*
 * COPY FROM's data source. C++ runs inside try/catch only; the error is raised after it, from a frame that
 * owns no C++ objects, and lands in the pg::Call around CopyFrom. So no exception leaves it (noexcept); the
 * error leaves by PostgreSQL's longjmp.
 */
extern "C" int
ReadActiveSource(void *outbuf, int minread, int maxread) noexcept
{
	int n = 0;
	bool failed = false;
	try {
		n = active_source->Read(static_cast<char *>(outbuf), minread, maxread);
	} catch (...) {
		failed = true;
		StashCurrentException();
	}
	if (failed)
		RaiseStashedError();
	return n;
}

/* Clears active_source however the COPY ends. */
struct ActiveSource {
	explicit ActiveSource(CopySource &source) { active_source = &source; }
	~ActiveSource() { active_source = nullptr; }
	ActiveSource(const ActiveSource &) = delete;
	ActiveSource &operator=(const ActiveSource &) = delete;
};

/* The column names as a List of String nodes. */
List *
NameList(const std::vector<std::string> &columns)
{
	List *names = NIL;
	for (const auto &column : columns) {
		const char *name = column.c_str();
		names = Call([&] { return lappend(names, makeString(pstrdup(name))); });
	}
	return names;
}

} // namespace

uint64
CopyIntoTable(Oid relid, const std::vector<std::string> &columns, bool binary, CopySource &source)
{
	ActiveSource active(source);
	Relation rel = Call([&] { return table_open(relid, RowExclusiveLock); });
	ParseState *pstate = Call([] { return make_parsestate(nullptr); });
	List *names = NameList(columns);
	Call([&] {
		ParseNamespaceItem *item = addRangeTableEntryForRelation(pstate, rel, RowExclusiveLock, NULL, false, false);
		CheckInsertPrivilege(pstate, item, rel, names);
	});
	/* text arrives in the database's encoding (a pull's source sends it so), whatever the caller's client_encoding */
	List *options = Call([&] {
		if (binary)
			return list_make1(makeDefElem(pstrdup("format"), (Node *) makeString(pstrdup("binary")), -1));
		return list_make1(
			makeDefElem(pstrdup("encoding"), (Node *) makeString(pstrdup(GetDatabaseEncodingName())), -1));
	});
	CopyFromState state =
		Call([&] { return BeginCopyFrom(pstate, rel, NULL, NULL, false, ReadActiveSource, names, options); });
	uint64 rows = Call([&] { return CopyFrom(state); });
	Call([&] {
		EndCopyFrom(state);
		table_close(rel, NoLock);
	});
	return rows;
}

} // namespace pgc::pg
