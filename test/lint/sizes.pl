#!/usr/bin/perl
# sizes.pl: holds the product code to the house rules of docs/HACKING.md: no file of extension/ or client/ over
# 500 lines, no function over 80 (from the first line of its signature to its closing brace).
#
#   perl test/lint/sizes.pl [FILE...]     default: every .cpp, .hpp and .sql of extension/ and client/
#
# Prints one line per breach and exits 1 if there is any; with -v also the ten longest functions.
use strict;
use warnings;

my $max_file = 500;
my $max_function = 80;
my $verbose = @ARGV && $ARGV[0] eq '-v' ? shift : '';

my @files = @ARGV ? @ARGV : sort grep { -f } map { glob $_ } qw(
  extension/*.cpp extension/*.hpp extension/*/*.cpp extension/*/*.hpp extension/*.sql extension/sql/*.sql
  client/*.cpp client/*.hpp);
@files = grep { !/--\d/ } @files;    # the built install script (pg_cutover--X.sql) is generated

# Blank out comments, string and character literals (raw strings too) and preprocessor lines, keeping every
# newline, so that the braces left are the code's own.
sub strip_cpp {
	my ($text) = @_;
	my $out = '';
	my $i = 0;
	my $n = length $text;
	my $line_start = 1;
	while ($i < $n) {
		my $c = substr($text, $i, 1);
		if ($line_start && $c eq '#') {
			my $j = $i;
			while ($j < $n) {
				my $nl = index($text, "\n", $j);
				$nl = $n if $nl < 0;
				my $continued = $nl > 0 && substr($text, $nl - 1, 1) eq '\\';
				$j = $nl + 1;
				last unless $continued;
			}
			my $chunk = substr($text, $i, $j - $i);
			$chunk =~ s/[^\n]//g;
			$out .= $chunk;
			$i = $j;
			$line_start = 1;
			next;
		}
		$line_start = 0 if $c !~ /\s/;
		$line_start = 1 if $c eq "\n";
		my $rest = substr($text, $i, 2);
		my $end;
		if ($rest eq '//') {
			$end = index($text, "\n", $i);
			$end = $n if $end < 0;
		}
		elsif ($rest eq '/*') {
			$end = index($text, '*/', $i + 2);
			$end = $end < 0 ? $n : $end + 2;
		}
		elsif (substr($text, $i) =~ /\A(?:u8|u|U|L)?R"([^(\s]*)\(/) {
			my $close = ')' . $1 . '"';
			$end = index($text, $close, $i + length($&));
			$end = $end < 0 ? $n : $end + length $close;
		}
		elsif ($c eq '"' || ($c eq "'" && !(substr($text, $i - 1, 1) =~ /[0-9a-fA-F]/ && $i > 0))) {
			my $j = $i + 1;
			while ($j < $n && substr($text, $j, 1) ne $c) {
				$j++ if substr($text, $j, 1) eq '\\';
				$j++;
			}
			$end = $j + 1;
		}
		if (defined $end) {
			my $chunk = substr($text, $i, $end - $i);
			$chunk =~ s/[^\n]/ /g;
			$out .= $chunk;
			$i = $end;
			next;
		}
		$out .= $c;
		$i++;
	}
	return $out;
}

# The functions of a stripped C++ text: [name, first line, last line]. A brace opens a function body when the
# text before it (since the last ; { or }) ends in a parameter list (and qualifiers) at namespace or class
# level; namespace, extern "C", class, struct, union and enum braces are scopes to look inside.
sub cpp_functions {
	my ($code) = @_;
	my @found;
	my @stack;    # 'scope', 'function' or 'block'
	my $header = '';
	my $header_line = 0;
	my $line = 1;
	my $function_start;
	my $function_name;
	for my $c (split //, $code) {
		if ($c eq "\n") {
			$line++;
			$header .= ' ';
			next;
		}
		if ($c eq '{') {
			my $scope_level = !grep { $_ ne 'scope' } @stack;
			if ($scope_level && $header =~ /\b(?:namespace|class|struct|union|enum)\b[^()]*$|\bextern\s*$/) {
				push @stack, 'scope';
			}
			elsif ($scope_level && $header =~ /\)/ && $header !~ /=/) {
				push @stack, 'function';
				($function_name) = $header =~ /([~\w:]+)\s*\(/;
				$function_start = $header_line || $line;
			}
			else {
				push @stack, 'block';
			}
			$header = '';
			$header_line = 0;
			next;
		}
		if ($c eq '}') {
			my $kind = pop @stack // 'scope';
			if ($kind eq 'function') {
				push @found, [$function_name // '?', $function_start, $line];
			}
			$header = '';
			$header_line = 0;
			next;
		}
		if ($c eq ';') {
			$header = '';
			$header_line = 0;
			next;
		}
		$header_line = $line if $header_line == 0 && $c =~ /\S/;
		$header .= $c;
	}
	return @found;
}

my @breaches;
my @all;
for my $file (@files) {
	open my $fh, '<', $file or die "$file: $!\n";
	my $text = do { local $/; <$fh> };
	close $fh;
	my $lines = () = $text =~ /\n/g;
	push @breaches, sprintf('%s: %d lines (at most %d)', $file, $lines, $max_file) if $lines > $max_file;
	next if $file =~ /\.sql$/;
	for my $f (cpp_functions(strip_cpp($text))) {
		my ($name, $first, $last) = @$f;
		my $length = $last - $first + 1;
		push @all, [$length, "$file:$first: $name"];
		push @breaches, sprintf('%s:%d: %s is %d lines (at most %d)', $file, $first, $name, $length, $max_function)
		  if $length > $max_function;
	}
}
if ($verbose) {
	print "longest: $_->[1] ($_->[0] lines)\n" for (sort { $b->[0] <=> $a->[0] } @all)[0 .. 9];
}
print "$_\n" for @breaches;
printf "%d files, %d functions: %s\n", scalar @files, scalar @all,
  @breaches ? scalar(@breaches) . ' over the limits' : "none over $max_file lines a file, $max_function a function";
exit(@breaches ? 1 : 0);
