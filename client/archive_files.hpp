/*
 * archive_files.hpp: the files of an archive on disk: a file written and a file read through one buffer each,
 * their SHA-256 taken on the way, and the names of the files in the archive's directory.
 */
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "sha256.hpp"

namespace cutover::archive {

/* The size of the buffer of a file, and of the COPY data sent at once. */
constexpr std::size_t kFlushBytes = 1 << 20;

/* A file written through one buffer, its SHA-256 taken on the way. */
class FileWriter
{
  public:
	/* `exclusive`: fail when the file exists (the manifest); a table file left by an export that stopped is
	 * written over. */
	FileWriter(const std::string &path, bool exclusive);
	std::string &
	buffer()
	{
		return buffer_;
	}
	void
	MaybeFlush()
	{
		if (buffer_.size() >= kFlushBytes)
			Flush();
	}
	void Flush();
	/* Flushes, closes (checking the close) and returns the SHA-256. Not synced to disk: the archive is copied
	 * somewhere else anyway, and the import checks every byte. */
	std::string Close();
	std::uint64_t
	bytes() const
	{
		return bytes_;
	}

  private:
	std::string path_;
	std::unique_ptr<FILE, decltype(&std::fclose)> file_;
	std::string buffer_;
	Sha256 sha_;
	std::uint64_t bytes_ = 0;
};

/* A file's lines, read through one buffer, its SHA-256 taken on the way. A last line without its newline is
 * returned too, marked. */
class LineReader
{
  public:
	/* Throws std::runtime_error with strerror's words when the file cannot be opened. */
	explicit LineReader(const std::string &path);
	/* The next line without its newline; false at the end. */
	bool Next(std::string_view &line, bool &complete);
	std::string
	Sha256Hex()
	{
		return sha_.Hex();
	}

  private:
	/* Keeps the partial line at the start of the buffer and reads more after it. */
	void ReadMore();

	std::string path_;
	std::unique_ptr<FILE, decltype(&std::fclose)> file_;
	std::string buffer_;
	std::size_t begin_ = 0, end_ = 0;
	bool eof_ = false;
	Sha256 sha_;
};

/* The path of `file` in the directory `dir`. */
std::string PathIn(const std::string &dir, const std::string &file);

/* A name that is safe as part of a file name: letters, digits, '.', '_' and '-' kept, the rest '_'. */
std::string FileSafe(const std::string &name);

} // namespace cutover::archive
