#!/usr/bin/perl
# functions.pl: holds the table at the top of extension/pg_cutover.sql (every SQL function and aggregate of the
# extension, its language and the file it is written in) to the code.
#
#   perl test/lint/functions.pl            check: exit 1 naming each line that is wrong or missing
#   perl test/lint/functions.pl --write    rewrite the table from the code
#
# A LANGUAGE C function is found by its symbol: the one PGC_FUNCTION(symbol) of extension/, whose name must be
# the SQL function's own (so that a grep for the SQL name finds the C++).
use strict;
use warnings;

my @parts = qw(extension/pg_cutover.sql extension/pg_cutover_users.sql extension/pg_cutover_plan.sql
  extension/pg_cutover_load.sql);
my $begin = '-- Function table (test/lint/functions.pl checks it against the code; --write rewrites it):';
my $end = '-- End of the function table.';
my $readme = 'README.md';
my $readme_begin = '<!-- function table: written by test/lint/functions.pl --write -->';
my $readme_end = '<!-- end of the function table -->';
my $write = @ARGV && $ARGV[0] eq '--write';
my @problems;

# PGC_FUNCTION(symbol) -> file
my %cpp;
for my $file (sort glob('extension/*.cpp extension/*/*.cpp')) {
	open my $fh, '<', $file or die "$file: $!\n";
	while (<$fh>) {
		next unless /^PGC_FUNCTION\((\w+)\)/;
		push @problems, "PGC_FUNCTION($1) is defined twice: $cpp{$1} and $file" if $cpp{$1};
		$cpp{$1} = $file;
	}
}

# name -> { languages, file }, in the order of the install script
my (@order, %functions, %used_symbol);
for my $part (@parts) {
	open my $fh, '<', $part or die "$part: $!\n";
	my $text = do { local $/; <$fh> };
	my @starts;
	push @starts, [$-[0], $1, $2] while $text =~ /^CREATE (FUNCTION|AGGREGATE) ([\w.]+)\(/mg;
	for my $i (0 .. $#starts) {
		my ($at, $kind, $name) = @{ $starts[$i] };
		my $until = $i < $#starts ? $starts[$i + 1][0] : length $text;
		my $statement = substr($text, $at, $until - $at);
		my $shown = $name;
		$name =~ s/^cutover\.//;
		my ($language, $file);
		if ($kind eq 'AGGREGATE') {
			($language, $file) = ('aggregate', $part);
		}
		elsif ($statement =~ /AS 'MODULE_PATHNAME'(?:,\s*'(\w+)')?\s+LANGUAGE C\b/) {
			my $symbol = $1 // $name;
			push @problems, "$name: its C symbol is $symbol, not the function's name" if $symbol ne $name;
			$used_symbol{$symbol} = 1;
			$language = 'C';
			$file = $cpp{$symbol} // do { push @problems, "$name: no PGC_FUNCTION($symbol) in extension/"; '?' };
		}
		elsif ($statement =~ /LANGUAGE (\w+)/) {
			($language, $file) = ($1, $part);
		}
		else {
			push @problems, "$name: no LANGUAGE found in $part";
			next;
		}
		if (!$functions{$name}) {
			push @order, $name;
			$functions{$name} = { shown => $shown, languages => [], file => $file };
		}
		push @{ $functions{$name}{languages} }, $language
		  unless grep { $_ eq $language } @{ $functions{$name}{languages} };
		push @problems, "$name: written in both $functions{$name}{file} and $file" if $functions{$name}{file} ne $file;
	}
}
for my $symbol (sort keys %cpp) {
	push @problems, "PGC_FUNCTION($symbol) in $cpp{$symbol} has no CREATE FUNCTION" unless $used_symbol{$symbol};
}

my @table = ($begin, '--');
for my $name (@order) {
	my $f = $functions{$name};
	push @table, sprintf('--   %-46s %-10s %s', $f->{shown}, join('/', @{ $f->{languages} }), $f->{file});
}
push @table, $end;
# README's file map: the same, a line per file.
my (@files, %by_file);
for my $name (@order) {
	my $f = $functions{$name};
	push @files, $f->{file} unless $by_file{ $f->{file} };
	push @{ $by_file{ $f->{file} } }, $f;
}
my @readme_table = ($readme_begin, '', '| File | Functions (language) |', '|---|---|');
for my $file (@files) {
	my @entries = map { sprintf('`%s` (%s)', $_->{shown}, join('/', @{ $_->{languages} })) } @{ $by_file{$file} };
	push @readme_table, "| `$file` | " . join(', ', @entries) . ' |';
}
push @readme_table, '', $readme_end;

# Checks or rewrites the block of `path` from the line `first` to the line `last`.
sub hold {
	my ($path, $first, $last, $lines) = @_;
	my $wanted = join("\n", @$lines) . "\n";
	open my $fh, '<', $path or die "$path: $!\n";
	my $text = do { local $/; <$fh> };
	close $fh;
	my $at = index($text, $first);
	my $stop = index($text, $last);
	if ($at < 0 || $stop < 0) {
		push @problems, "$path: the function table is missing (from '$first' to '$last')";
		return;
	}
	my $have = substr($text, $at, $stop + length($last) + 1 - $at);
	return if $have eq $wanted;
	if ($write) {
		substr($text, $at, length $have) = $wanted;
		open my $out, '>', $path or die "$path: $!\n";
		print $out $text;
		close $out;
		print "$path: function table rewritten\n";
		return;
	}
	my %have_lines = map { $_ => 1 } split /\n/, $have;
	my %wanted_lines = map { $_ => 1 } split /\n/, $wanted;
	my @missing = grep { !$have_lines{$_} } split /\n/, $wanted;
	my @wrong = grep { !$wanted_lines{$_} } split /\n/, $have;
	push @problems, "$path: the table lacks: $_" for @missing;
	push @problems, "$path: the table has, wrongly: $_" for @wrong;
	push @problems, "$path: the table is out of order" if !@missing && !@wrong;
}
hold($parts[0], $begin, $end, \@table);
hold($readme, $readme_begin, $readme_end, \@readme_table);
print "$_\n" for @problems;
printf "%d SQL functions and aggregates: %s\n", scalar @order,
  @problems ? scalar(@problems) . ' problems (perl test/lint/functions.pl --write rewrites the table)' :
  'the table of extension/pg_cutover.sql names each one\'s language and file';
exit(@problems ? 1 : 0);
