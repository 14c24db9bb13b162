/*
 * archive_files.cpp: the files of an archive on disk, written and read through one buffer with their SHA-256
 * taken on the way, and the names of the files in the archive's directory.
 */
#include "archive_files.hpp"

#include <cctype>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace cutover::archive {

FileWriter::FileWriter(const std::string &path, bool exclusive)
	: path_(path), file_(std::fopen(path.c_str(), exclusive ? "wbx" : "wb"), &std::fclose)
{
	if (!file_)
		throw std::runtime_error("cannot create " + path + ": " + std::strerror(errno));
	buffer_.reserve(kFlushBytes + (64 << 10));
}

void
FileWriter::Flush()
{
	sha_.Update(buffer_.data(), buffer_.size());
	if (!buffer_.empty() && std::fwrite(buffer_.data(), 1, buffer_.size(), file_.get()) != buffer_.size())
		throw std::runtime_error("cannot write " + path_ + ": " + std::strerror(errno));
	bytes_ += buffer_.size();
	buffer_.clear();
}

std::string
FileWriter::Close()
{
	Flush();
	FILE *file = file_.release();
	if (std::fflush(file) != 0 || std::fclose(file) != 0)
		throw std::runtime_error("cannot write " + path_ + ": " + std::strerror(errno));
	return sha_.Hex();
}

LineReader::LineReader(const std::string &path) : path_(path), file_(std::fopen(path.c_str(), "rb"), &std::fclose)
{
	if (!file_)
		throw std::runtime_error(std::strerror(errno));
	buffer_.resize(kFlushBytes);
}

bool
LineReader::Next(std::string_view &line, bool &complete)
{
	for (;;) {
		const char *start = buffer_.data() + begin_;
		const void *newline = std::memchr(start, '\n', end_ - begin_);
		if (newline != nullptr) {
			std::size_t len = static_cast<const char *>(newline) - start;
			line = std::string_view(start, len);
			begin_ += len + 1;
			complete = true;
			return true;
		}
		if (eof_) {
			if (begin_ == end_)
				return false;
			line = std::string_view(start, end_ - begin_);
			begin_ = end_;
			complete = false;
			return true;
		}
		ReadMore();
	}
}

void
LineReader::ReadMore()
{
	std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
	end_ -= begin_;
	begin_ = 0;
	if (end_ == buffer_.size())
		buffer_.resize(buffer_.size() * 2);
	std::size_t got = std::fread(buffer_.data() + end_, 1, buffer_.size() - end_, file_.get());
	if (got == 0) {
		if (std::ferror(file_.get()))
			throw std::runtime_error(std::string("cannot read: ") + std::strerror(errno));
		eof_ = true;
	}
	sha_.Update(buffer_.data() + end_, got);
	end_ += got;
}

std::string
PathIn(const std::string &dir, const std::string &file)
{
	return dir.empty() || dir.back() == '/' ? dir + file : dir + "/" + file;
}

std::string
FileSafe(const std::string &name)
{
	std::string out;
	for (unsigned char c : name)
		out.push_back((std::isalnum(c) != 0 && c < 0x80) || c == '_' || c == '-' ? static_cast<char>(c) : '_');
	return out;
}

} // namespace cutover::archive
