# 010_stack_auth_emulator.pl: the loopback Stack Auth emulator answers as the real users API does
# (shared/reference/stack-auth-api.md), and injects the faults the migration client must survive. No PostgreSQL.
#
#   1. Startup: --help, refusing to start without STACK_SECRET_SERVER_KEY, the "listening on" line, the port file.
#   2. Every project-authentication error of section 1 (status, code, details, headers), checked before the schema.
#   3. POST /api/v1/users: 201 and the full read shape, e-mails normalized, no password returned, the imported
#      password_hash kept (control API); each SCHEMA_ERROR and each text/plain error of section 3 next to a good
#      input; duplicate e-mail 409 only with e-mail auth, case-insensitively; OAuth provider and account rules.
#   4. GET/PATCH/DELETE /api/v1/users/{id}, 404 USER_NOT_FOUND, non-UUID ids, other routes and methods.
#   5. Listing: query (substring, case-insensitive, any contact channel, the id), anonymous and restricted users
#      hidden by default, pagination with a small limit walking every user exactly once, cursors, desc.
#   6. Concurrency: 40 keep-alive connections served at once; concurrent creates of one e-mail give one user.
#   7. Faults at rate 1.0 through POST /__emulator/faults: 429 with Retry-After, 500 and drop leave no user,
#      lost-response leaves the user created; curl reports drop and lost-response as transfer errors.
#   8. A project without password sign-in and with other OAuth providers (flags).
#   9. SIGTERM stops it cleanly, and the secret key never appears in its stdout or stderr.
use strict;
use warnings FATAL => 'all';
use utf8;

use FindBin;
use File::Temp qw(tempdir);
use HTTP::Tiny;
use IO::Socket::INET;
use JSON::PP;
use POSIX qw(WNOHANG);
use Test::More;
use Time::HiRes qw(time sleep);

my $root = "$FindBin::RealBin/../..";
my $binary = $ENV{STACK_AUTH_EMULATOR} // "$root/test/stack_auth_emulator/stack_auth_emulator";
my $tmp = tempdir('stack_auth_emulator_XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $json = JSON::PP->new->utf8->canonical;
binmode(Test::More->builder->$_, ':encoding(UTF-8)') for qw(output failure_output todo_output);
my $secret = join '', 'ssk_', map { sprintf '%02x', int(rand(256)) } 1 .. 16;
my $project_id = '0b7e1f2c-5a3d-4e8f-9c61-2d4b8a7e3f10';
my $uuid_v4 = qr/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
my $bcrypt_hash = '$2a$10$VIhIOofSMqGdGlL4wzE//e.77dAQGqNtF/1dT7bqCrVtQuInWy2qi';
my @running;    # emulators still to stop at the end

ok(-x $binary, "the emulator is built: $binary")
  or BAIL_OUT("build it first: make -f test/stack_auth_emulator/emulator.mk test/stack_auth_emulator/stack_auth_emulator");

# ------------------------------------------------------------------------------------------------ helpers

# Starts an emulator with the given flags; returns {pid, port, base, stdout, stderr}.
sub start_emulator
{
	my ($name, @flags) = @_;
	my %emulator = (
		port_file => "$tmp/$name.port",
		stdout => "$tmp/$name.stdout",
		stderr => "$tmp/$name.stderr");
	my $pid = fork() // die "fork: $!";
	if ($pid == 0)
	{
		open(STDOUT, '>', $emulator{stdout}) or die;
		open(STDERR, '>', $emulator{stderr}) or die;
		$ENV{STACK_SECRET_SERVER_KEY} = $secret;
		{ exec($binary, '--port', '0', '--port-file', $emulator{port_file}, '--project-id', $project_id, @flags) }
		print STDERR "exec $binary: $!\n";
		POSIX::_exit(127);    # not exit: END would stop the parent's emulators
	}
	$emulator{pid} = $pid;
	my $deadline = time() + 20;
	sleep(0.05) until -s $emulator{port_file} || time() > $deadline || waitpid($pid, WNOHANG) == $pid;
	die "the emulator $name did not start: " . slurp($emulator{stderr}) unless -s $emulator{port_file};
	chomp($emulator{port} = slurp($emulator{port_file}));
	$emulator{base} = "http://127.0.0.1:$emulator{port}";
	push @running, \%emulator;
	return \%emulator;
}

# SIGTERM, then the exit status (-1 if it had to be killed).
sub stop_emulator
{
	my ($emulator) = @_;
	kill 'TERM', $emulator->{pid};
	my $deadline = time() + 15;
	while (time() < $deadline)
	{
		if (waitpid($emulator->{pid}, WNOHANG) == $emulator->{pid})
		{
			@running = grep { $_ != $emulator } @running;
			return $? >> 8;
		}
		sleep(0.05);
	}
	kill 'KILL', $emulator->{pid};
	waitpid($emulator->{pid}, 0);
	@running = grep { $_ != $emulator } @running;
	return -1;
}

END
{
	kill 'KILL', $_->{pid} for @running;
}

sub slurp
{
	my ($path) = @_;
	open(my $fh, '<', $path) or return '';
	local $/;
	return <$fh> // '';
}

my %server_headers = (
	'x-stack-access-type' => 'server',
	'x-stack-project-id' => $project_id,
	'x-stack-secret-server-key' => $secret);

my $http = HTTP::Tiny->new(timeout => 20, keep_alive => 1);

# One request. %options: headers (replace the server headers), extra (added to them), json (a body to encode),
# raw (a body as is, with content_type), http (another HTTP::Tiny). Returns the HTTP::Tiny response with
# {json} decoded when the body is JSON.
sub call
{
	my ($emulator, $method, $path, %options) = @_;
	my %headers = (%{ $options{headers} // \%server_headers }, %{ $options{extra} // {} });
	my %request = (headers => \%headers);
	if (exists $options{json})
	{
		$headers{'content-type'} = 'application/json';
		$request{content} = $json->encode($options{json});
	}
	elsif (exists $options{raw})
	{
		$headers{'content-type'} = $options{content_type} if defined $options{content_type};
		$request{content} = $options{raw};
	}
	my $response = ($options{http} // $http)->request($method, $emulator->{base} . $path, \%request);
	my $type = $response->{headers}{'content-type'} // '';
	$response->{json} = eval { $json->decode($response->{content}) } if $type =~ m{^application/json};
	return $response;
}

# A known error: status, code, the X-Stack-Known-Error header and the JSON content type.
sub known_error_is
{
	my ($response, $status, $code, $name) = @_;
	is($response->{status}, $status, "$name: status $status");
	is($response->{json} && $response->{json}{code}, $code, "$name: code $code")
	  or diag($response->{content});
	is($response->{headers}{'x-stack-known-error'}, $code, "$name: X-Stack-Known-Error");
	is($response->{headers}{'content-type'}, 'application/json; charset=utf-8', "$name: JSON content type");
}

# A StatusError: text/plain holding exactly the message, no known-error header.
sub text_error_is
{
	my ($response, $status, $message, $name) = @_;
	is($response->{status}, $status, "$name: status $status");
	is($response->{content}, $message, "$name: text") or diag($response->{content});
	like($response->{headers}{'content-type'} // '', qr{^text/plain}, "$name: text/plain");
	ok(!exists $response->{headers}{'x-stack-known-error'}, "$name: no known-error header");
}

# A SCHEMA_ERROR whose message lists exactly these lines.
sub schema_error_is
{
	my ($response, $heading, $lines, $name) = @_;
	known_error_is($response, 400, 'SCHEMA_ERROR', $name);
	my $message = join("\n", "Request validation failed on $heading:", map { "  - $_" } @$lines);
	is($response->{json} && $response->{json}{error}, $message, "$name: message") or diag($response->{content});
	is($response->{json} && $response->{json}{details}{message}, $message, "$name: details.message");
}

# A request written by hand, for what HTTP::Tiny cannot send (a body without Content-Type). Returns
# {status, content}.
sub raw_request
{
	my ($emulator, $method, $path, $headers, $body) = @_;
	my $socket = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $emulator->{port}, Timeout => 10)
	  or die "connect: $!";
	$socket->timeout(10);
	print {$socket} "$method $path HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n",
	  map({ "$_: $headers->{$_}\r\n" } sort keys %$headers), 'Content-Length: ' . length($body) . "\r\n\r\n$body";
	local $/;
	my $answer = <$socket> // '';
	my ($status) = $answer =~ m{^HTTP/1\.1 (\d+)};
	my ($content) = $answer =~ m{\r\n\r\n(.*)}s;
	return { status => $status // 0, content => $content // '' };
}

sub create_user
{
	my ($emulator, $body, $name) = @_;
	my $response = call($emulator, 'POST', '/api/v1/users', json => $body);
	is($response->{status}, 201, "$name: created") or diag($response->{content});
	return $response->{json};
}

sub internal_users
{
	my ($emulator) = @_;
	return $json->decode(call($emulator, 'GET', '/__emulator/users', headers => {})->{content});
}

sub set_faults
{
	my ($emulator, $faults) = @_;
	my $response =
	  call($emulator, 'POST', '/__emulator/faults', headers => {}, raw => $json->encode($faults));
	die "setting faults: $response->{content}" unless $response->{status} == 200;
	return $json->decode($response->{content});
}

# ------------------------------------------------------------------------------------------------ 1. startup

my $help = `'$binary' --help 2>&1`;
is($? >> 8, 0, '--help exits 0');
like($help, qr/STACK_SECRET_SERVER_KEY/, '--help names the environment variable of the key');
like($help, qr/--fault-lost-response/, '--help lists the fault flags');

{
	local $ENV{STACK_SECRET_SERVER_KEY};
	delete $ENV{STACK_SECRET_SERVER_KEY};
	my $out = `'$binary' --port 0 2>&1`;
	is($? >> 8, 2, 'without STACK_SECRET_SERVER_KEY it refuses to start (exit 2)');
	like($out, qr/STACK_SECRET_SERVER_KEY is not set/, '... and says why');
	unlike($out, qr/listening/, '... without listening');
}
my $bad_faults = `STACK_SECRET_SERVER_KEY=x '$binary' --port 0 --fault-500 0.7 --fault-drop 0.7 2>&1`;
is($? >> 8, 2, 'fault probabilities adding up to more than 1 are a usage error');

my $emulator = start_emulator('main');
like($emulator->{port}, qr/^[1-9][0-9]*$/, 'the port file holds the chosen port');
is(slurp($emulator->{stdout}), "stack_auth_emulator listening on http://127.0.0.1:$emulator->{port}\n",
	'one "listening on" line on stdout');

# ------------------------------------------------------------------------------------------------ 2. project auth

my %headers_for = (
	'no access type, no keys' => [ {}, 400, 'ACCESS_TYPE_REQUIRED' ],
	'a key without access type' => [ { 'x-stack-secret-server-key' => $secret }, 400, 'PROJECT_KEY_WITHOUT_ACCESS_TYPE' ],
	'an unknown access type' =>
	  [ { 'x-stack-access-type' => 'root', 'x-stack-project-id' => $project_id }, 400, 'INVALID_ACCESS_TYPE' ],
	'no project id' => [ { 'x-stack-access-type' => 'server', 'x-stack-secret-server-key' => $secret },
		400, 'ACCESS_TYPE_WITHOUT_PROJECT_ID' ],
	'an unknown project' => [
		{ %server_headers, 'x-stack-project-id' => '11111111-2222-4333-8444-555555555555' },
		400, 'CURRENT_PROJECT_NOT_FOUND'
	],
	'no server key' => [ { %server_headers, 'x-stack-secret-server-key' => '' }, 401, 'SERVER_AUTHENTICATION_REQUIRED' ],
	'a wrong server key' => [ { %server_headers, 'x-stack-secret-server-key' => "${secret}x" },
		401, 'INVALID_SECRET_SERVER_KEY' ],
	'an unknown branch' => [ { %server_headers, 'x-stack-branch-id' => 'dev' }, 400, 'BRANCH_DOES_NOT_EXIST' ],
	'client access' => [
		{ 'x-stack-access-type' => 'client', 'x-stack-project-id' => $project_id,
		  'x-stack-publishable-client-key' => 'pck_any' },
		401, 'INSUFFICIENT_ACCESS_TYPE'
	],);
for my $case (sort keys %headers_for)
{
	my ($headers, $status, $code) = @{ $headers_for{$case} };
	for my $route ([ 'GET', '/api/v1/users' ], [ 'POST', '/api/v1/users' ])
	{
		my @body = $route->[0] eq 'POST' ? (json => { primary_email => 'not an email' }) : ();
		my $response = call($emulator, @$route, headers => $headers, @body);
		known_error_is($response, $status, $code, "$case, $route->[0]");
	}
}
my $response = call($emulator, 'GET', '/api/v1/users', headers => { %server_headers, 'x-stack-project-id' => 'nope' });
is_deeply($response->{json}{details}, { project_id => 'nope' }, 'CURRENT_PROJECT_NOT_FOUND details');
$response = call($emulator, 'GET', '/api/v1/users', headers => { 'x-stack-access-type' => 'server' });
is_deeply($response->{json}{details}, { request_type => 'server' }, 'ACCESS_TYPE_WITHOUT_PROJECT_ID details');
$response = call($emulator, 'GET', '/api/v1/users', headers => { %server_headers, 'x-stack-secret-server-key' => 'bad' });
is_deeply($response->{json}{details}, { project_id => $project_id }, 'INVALID_SECRET_SERVER_KEY details');
unlike($response->{content}, qr/\Q$secret\E/, 'a key error does not echo the key');
$response = call($emulator, 'GET', '/api/v1/users',
	headers => { 'x-stack-access-type' => 'client', 'x-stack-project-id' => $project_id,
		'x-stack-publishable-client-key' => 'pck' });
is_deeply($response->{json}{details}, { actual_access_type => 'client', allowed_access_types => [ 'server', 'admin' ] },
	'INSUFFICIENT_ACCESS_TYPE details');
is(call($emulator, 'GET', '/api/v1/users', extra => { 'x-stack-branch-id' => 'main' })->{status}, 200,
	'branch main is the default branch');
$response = call($emulator, 'GET', '/api/v1/users', raw => 'ignored', content_type => 'text/plain');
is($response->{status}, 200, 'a GET with a body: the body is ignored');
is(call($emulator, 'GET', '/api/v1/users')->{status}, 200, '... and does not disturb the next request');
$response = call($emulator, 'POST', '/api/v1/users', raw => '{"primary_email": ', content_type => 'application/json',
	headers => {});
known_error_is($response, 400, 'BODY_PARSING_ERROR', 'bad JSON is refused before authentication');

# ------------------------------------------------------------------------------------------------ 3. create

my @read_shape = sort qw(id primary_email primary_email_verified primary_email_auth_enabled display_name
  profile_image_url signed_up_at_millis last_active_at_millis has_password otp_auth_enabled passkey_auth_enabled
  auth_with_email requires_totp_mfa client_metadata client_read_only_metadata server_metadata oauth_providers
  selected_team_id selected_team is_anonymous is_restricted restricted_reason restricted_by_admin
  restricted_by_admin_reason restricted_by_admin_private_details country_code risk_scores);

my $before = int(time() * 1000);
$response = call($emulator, 'POST', '/api/v1/users', json => {
		primary_email => 'Jordan.Lee@Example.COM',
		primary_email_verified => JSON::PP::true,
		primary_email_auth_enabled => JSON::PP::true,
		password_hash => $bcrypt_hash,
		display_name => 'Jordan Lee',
		server_metadata => { supabase_user_id => 'a6f1...', signed_up_at => '2023-01-02T03:04:05Z' },
		client_metadata => 'just a string',
		oauth_providers => [ { id => 'google', account_id => '1093', email => 'jordan@gmail.com' } ],
		country_code => ' us ',
		risk_scores => { sign_up => { bot => 7, free_trial_abuse => 3 } }, });
is($response->{status}, 201, 'POST /api/v1/users: 201');
my $jordan = $response->{json};
is_deeply([ sort keys %$jordan ], \@read_shape, 'the response has every field of the read shape, and only those');
like($jordan->{id}, $uuid_v4, 'a server-generated UUID v4 id');
ok($jordan->{signed_up_at_millis} >= $before && $jordan->{signed_up_at_millis} <= int(time() * 1000) + 1,
	'signed_up_at_millis is now');
is($jordan->{last_active_at_millis}, $jordan->{signed_up_at_millis}, 'last_active_at_millis too');
is($jordan->{primary_email}, 'jordan.lee@example.com', 'the e-mail is stored lower-cased');
ok($jordan->{primary_email_verified} && $jordan->{primary_email_auth_enabled}, 'verified, used for auth');
ok($jordan->{has_password} && $jordan->{auth_with_email}, 'has_password after a password_hash import');
ok(!exists $jordan->{password} && !exists $jordan->{password_hash}, 'no password nor hash in the response');
is_deeply($jordan->{server_metadata}, { supabase_user_id => 'a6f1...', signed_up_at => '2023-01-02T03:04:05Z' },
	'server_metadata stored');
is($jordan->{client_metadata}, 'just a string', 'metadata can be any JSON');
is_deeply($jordan->{oauth_providers}, [ { id => 'google', account_id => '1093', email => 'jordan@gmail.com' } ],
	'oauth_providers');
is($jordan->{country_code}, 'US', 'country_code trimmed and upper-cased');
is_deeply($jordan->{risk_scores}, { sign_up => { bot => 7, free_trial_abuse => 3 } }, 'risk_scores');
ok(!$jordan->{is_anonymous} && !$jordan->{is_restricted} && !defined $jordan->{restricted_reason},
	'not anonymous, not restricted');
is($response->{headers}{'content-type'}, 'application/json; charset=utf-8', 'JSON content type');
like($response->{headers}{'x-stack-request-id'} // '', qr/^\S{8,}$/, 'x-stack-request-id');
like($response->{headers}{'cache-control'} // '', qr/no-store/, 'cache-control: no-store');

my %request_ids;
$request_ids{ call($emulator, 'GET', '/api/v1/users')->{headers}{'x-stack-request-id'} }++ for 1 .. 20;
is(scalar(keys %request_ids), 20, 'request ids are unique');
for my $case ([ 'GET', '/nowhere' ], [ 'GET', '/api/v1/users/x', {} ], [ 'DELETE', '/api/v1/teams' ])
{
	my $r = call($emulator, $case->[0], $case->[1], defined $case->[2] ? (headers => $case->[2]) : ());
	ok(defined $r->{headers}{'x-stack-request-id'} && ($r->{headers}{'cache-control'} // '') =~ /no-store/,
		"$case->[0] $case->[1]: request id and cache-control on an error too");
}

my ($internal_jordan) = grep { $_->{id} eq $jordan->{id} } @{ internal_users($emulator) };
is($internal_jordan->{password_hash}, $bcrypt_hash, 'the control API shows the imported hash unchanged');
is($internal_jordan->{password_set_from}, 'password_hash', '... and where it came from');
is_deeply($internal_jordan->{oauth_accounts},
	[ { provider_id => 'google', account_id => '1093', email => 'jordan@gmail.com', allow_sign_in => JSON::PP::true,
			allow_connected_accounts => JSON::PP::true } ],
	'... and the OAuth account');

my $empty = create_user($emulator, {}, '{} (no field is required)');
ok(!defined $empty->{primary_email} && !$empty->{has_password} && !$empty->{primary_email_auth_enabled},
	'{} gives an empty user');
my $with_password = create_user($emulator,
	{ primary_email => 'pw@example.com', password => 'correct horse', primary_email_auth_enabled => JSON::PP::true },
	'a plain password');
ok($with_password->{has_password}, 'has_password with a plain password');
my ($internal_pw) = grep { $_->{id} eq $with_password->{id} } @{ internal_users($emulator) };
ok(!defined $internal_pw->{password_hash} && $internal_pw->{password_set_from} eq 'password',
	'a plain password is not kept');
unlike(call($emulator, 'GET', '/__emulator/users', headers => {})->{content}, qr/correct horse/,
	'the plain password appears nowhere');
create_user($emulator, { primary_email => 'a@gmai' }, 'an e-mail without a TLD');
create_user($emulator, { display_name => '' }, 'an empty display name (stored as null)');
my $coerced = create_user($emulator, { display_name => 42, primary_email_verified => 'true', primary_email => 'n@x.io' },
	'values yup coerces');
is($coerced->{display_name}, '42', 'a number for a string is coerced, as yup does');
ok($coerced->{primary_email_verified}, '"true" for a boolean is coerced');
create_user($emulator, { password_hash => '$2b$16$' . ('a' x 53) }, 'a bcrypt hash of cost 16');
create_user($emulator, { password_hash => '$2y$10$' . ('B' x 53) }, 'a $2y$ hash');

my $post = 'POST /api/v1/users';
schema_error_is(call($emulator, 'POST', '/api/v1/users', json => { primary_email => 'not-an-email' }),
	$post, ['body.primary_email must be a valid email'], 'an invalid e-mail');
schema_error_is(call($emulator, 'POST', '/api/v1/users', json => { primary_email => '' }),
	$post, ['body.primary_email must not be empty'], 'an empty e-mail');
schema_error_is(call($emulator, 'POST', '/api/v1/users', json => { display_name => 'x' x 257 }),
	$post, ['body.display_name must be at most 256 characters'], 'a display name over 256');
create_user($emulator, { display_name => 'x' x 256 }, 'a display name of 256');
schema_error_is(call($emulator, 'POST', '/api/v1/users', json => { password => 'p' x 71 }),
	$post, ['body.password must be at most 70 characters'], 'a password over 70');
schema_error_is(call($emulator, 'POST', '/api/v1/users', json => { password_hash => '' }),
	$post, ['body.password_hash must not be empty'], 'an empty password_hash');
schema_error_is(call($emulator, 'POST', '/api/v1/users', json => { id => $jordan->{id}, signed_up_at_millis => 1 }),
	$post, ['body contains unknown properties: id, signed_up_at_millis'], 'id and signed_up_at_millis cannot be sent');
schema_error_is(call($emulator, 'POST', '/api/v1/users', json => { primary_email_verified => 'yes' }),
	$post, ['body.primary_email_verified must be a `boolean` type, but the final value was: `"yes"`.'], 'a non-boolean');
schema_error_is(call($emulator, 'POST', '/api/v1/users', json => { country_code => 'USA' }),
	$post, ['body.country_code must be a 2-letter country code'], 'a bad country code');
schema_error_is(call($emulator, 'POST', '/api/v1/users', json => { totp_secret_base64 => 'not base64!' }),
	$post, ['body.totp_secret_base64 is not valid base64'], 'bad base64');
schema_error_is(call($emulator, 'POST', '/api/v1/users', json => { profile_image_url => 'no url' }),
	$post, [ 'body.profile_image_url contains spaces', 'body.profile_image_url is not a valid URL' ], 'a bad image URL');
schema_error_is(call($emulator, 'POST', '/api/v1/users', json => { restricted_by_admin_reason => 'spam' }),
	$post, ['restricted_by_admin_reason must be null when restricted_by_admin is not true'],
	'a restriction reason without restricted_by_admin');
schema_error_is(call($emulator, 'POST', '/api/v1/users', json => { oauth_providers => [ { id => 'google' } ] }),
	$post, ['body.oauth_providers[0].account_id must be defined'], 'an OAuth provider without account_id');
schema_error_is(call($emulator, 'POST', '/api/v1/users', json => [ 1 ]),
	$post, ["body must be a `object` type, but the final value was: `[\n    \"1\"\n  ]`."], 'an array body');
$response = raw_request($emulator, 'POST', '/api/v1/users', \%server_headers, '{"primary_email":"a@b.co"}');
is($response->{status}, 400, 'no Content-Type: 400');
is(eval { $json->decode($response->{content})->{error} } // $response->{content},
	"Request validation failed on $post:\n  - body must be defined", 'no Content-Type: the body is undefined');
schema_error_is(call($emulator, 'POST', '/api/v1/users', raw => '{}', content_type => 'application/octet-stream'),
	$post, ['body must be a `object` type, but the final value was: `{}`.'], 'an octet-stream body');
my $form = call($emulator, 'POST', '/api/v1/users', raw => 'display_name=Form+User&primary_email_verified=false',
	content_type => 'application/x-www-form-urlencoded');
is($form->{status}, 201, 'a form-encoded body is parsed as the real server does');
is($form->{json}{display_name}, 'Form User', '... its strings coerced by the schema');
schema_error_is(call($emulator, 'POST', '/api/v1/users?limit=0&x=1', json => { primary_email => 'bad', nope => 1 }),
	$post, [ 'body.primary_email must be a valid email', 'body contains unknown properties: nope',
		'query.limit must be greater than or equal to 1', 'query contains unknown properties: x' ],
	'one line per failure');
known_error_is(call($emulator, 'POST', '/api/v1/users', raw => '{}', content_type => 'application/xml'),
	400, 'BODY_PARSING_ERROR', 'an unknown content type');

my $users_before = scalar(@{ internal_users($emulator) });
text_error_is(call($emulator, 'POST', '/api/v1/users', json => { password => 'x', password_hash => $bcrypt_hash }),
	400, 'Cannot set both password and password_hash at the same time.', 'password and password_hash');
my $invalid_hash = "Invalid password hash. Make sure it's a supported algorithm in Modular Crypt Format.";
for my $hash ('$2a$17$' . ('a' x 53), '$2a$10$short', '$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA',
	'$2x$10$' . ('a' x 53), 'plain')
{
	text_error_is(call($emulator, 'POST', '/api/v1/users', json => { password_hash => $hash }),
		400, $invalid_hash, "password_hash $hash");
}
text_error_is(call($emulator, 'POST', '/api/v1/users', json => { primary_email_auth_enabled => JSON::PP::true }),
	400, 'primary_email_auth_enabled cannot be true without primary_email', 'e-mail auth without e-mail');
text_error_is(call($emulator, 'POST', '/api/v1/users', json => { primary_email_verified => JSON::PP::true }),
	400, 'primary_email_verified cannot be true without primary_email', 'verified without e-mail');
text_error_is(call($emulator, 'POST', '/api/v1/users',
		json => { oauth_providers => [ { id => 'apple', account_id => '1' } ] }),
	400, 'OAuth provider apple not found', 'an OAuth provider the project does not have');
text_error_is(call($emulator, 'POST', '/api/v1/users', json => { profile_image_url => 'ftp://example.com/a.png' }),
	400, 'Invalid profile image URL', 'a profile image URL that is neither http(s) nor a base64 image');
text_error_is(call($emulator, 'POST', '/api/v1/users', json => { otp_auth_enabled => JSON::PP::true }),
	400, 'OTP auth not enabled in the project', 'OTP not allowed by the project');
$response = call($emulator, 'POST', '/api/v1/users',
	json => { oauth_providers => [ { id => 'google', account_id => '1093' } ] });
is($response->{status}, 500, 'an OAuth account that belongs to another user: 500');
like($response->{headers}{'content-type'}, qr{^text/plain}, '... as text/plain');
is(scalar(@{ internal_users($emulator) }), $users_before, 'no failed create left a user behind');

# Duplicate e-mails: only when the new user uses the e-mail for auth and another user does too.
$response = call($emulator, 'POST', '/api/v1/users',
	json => { primary_email => 'JORDAN.lee@example.com', primary_email_auth_enabled => JSON::PP::true });
known_error_is($response, 409, 'USER_EMAIL_ALREADY_EXISTS', 'the same e-mail in another case, auth enabled');
is_deeply($response->{json}{details}, { email => 'jordan.lee@example.com', would_work_if_email_was_verified => JSON::PP::false },
	'details: the normalized e-mail');
is($response->{json}{error}, 'A user with email "jordan.lee@example.com" already exists.', 'error message');
create_user($emulator, { primary_email => 'jordan.lee@example.com' }, 'the same e-mail without auth');
create_user($emulator, { primary_email => 'jordan.lee@example.com' }, 'and once more');
create_user($emulator, { primary_email => 'shared@example.com' }, 'an e-mail first without auth');
create_user($emulator, { primary_email => 'Shared@example.com', primary_email_auth_enabled => JSON::PP::true },
	'then with auth: nobody used it for auth yet');

# ------------------------------------------------------------------------------------------------ 4. one user

my $user_path = "/api/v1/users/$jordan->{id}";
$response = call($emulator, 'GET', $user_path);
is($response->{status}, 200, 'GET /users/{id}: 200');
is_deeply($response->{json}, $jordan, 'the same user as created');
is(call($emulator, 'GET', uc($user_path) =~ s{/API/V1/USERS}{/api/v1/users}r)->{status}, 200,
	'an upper-case id finds the user (uuid comparison)');
my $missing = '3241a285-8329-4d69-8f3d-316e08cf140c';
$response = call($emulator, 'GET', "/api/v1/users/$missing");
known_error_is($response, 404, 'USER_NOT_FOUND', 'GET an unknown id');
is($response->{json}{error}, 'User not found.', 'USER_NOT_FOUND message');
schema_error_is(call($emulator, 'GET', '/api/v1/users/not-a-uuid'),
	'GET /api/v1/users/not-a-uuid', ['params.user_id must be a valid UUID'], 'a non-UUID id');
known_error_is(call($emulator, 'GET', '/api/v1/users/me'), 400, 'CANNOT_GET_OWN_USER_WITHOUT_USER', '/users/me');

$response = call($emulator, 'PATCH', $user_path,
	json => { display_name => 'J. Lee', client_read_only_metadata => { plan => 'pro' }, primary_email => 'jl@example.net' });
is($response->{status}, 200, 'PATCH: 200');
is($response->{json}{display_name}, 'J. Lee', 'PATCH changes the fields sent');
is($response->{json}{primary_email}, 'jl@example.net', 'PATCH changes the e-mail');
ok($response->{json}{primary_email_auth_enabled}, '... keeping it used for auth');
is_deeply($response->{json}{server_metadata}, $jordan->{server_metadata}, '... and leaves the others');
is($response->{json}{signed_up_at_millis}, $jordan->{signed_up_at_millis}, '... and signed_up_at');
schema_error_is(call($emulator, 'PATCH', $user_path, json => { oauth_providers => [] }),
	"PATCH $user_path", ['body contains unknown properties: oauth_providers'], 'PATCH cannot set oauth_providers');
schema_error_is(call($emulator, 'PATCH', $user_path, json => { is_anonymous => JSON::PP::true }),
	"PATCH $user_path", ['body.is_anonymous must be one of the following values: false'], 'PATCH is_anonymous true');
known_error_is(call($emulator, 'PATCH', $user_path,
		json => { primary_email => 'pw@example.com', primary_email_auth_enabled => JSON::PP::true }),
	409, 'USER_EMAIL_ALREADY_EXISTS', 'PATCH to an e-mail another user signs in with');
known_error_is(call($emulator, 'PATCH', "/api/v1/users/$missing", json => {}), 404, 'USER_NOT_FOUND', 'PATCH unknown');

$response = call($emulator, 'DELETE', "/api/v1/users/$empty->{id}");
is($response->{status}, 200, 'DELETE: 200');
is_deeply($response->{json}, { success => JSON::PP::true }, 'DELETE: {"success":true}');
known_error_is(call($emulator, 'GET', "/api/v1/users/$empty->{id}"), 404, 'USER_NOT_FOUND', 'GET after DELETE');
known_error_is(call($emulator, 'DELETE', "/api/v1/users/$empty->{id}"), 404, 'USER_NOT_FOUND', 'DELETE twice');

$response = call($emulator, 'GET', '/api/v1/nothing-here');
is($response->{status}, 404, 'an unknown API path: 404');
like($response->{content}, qr/this page does not exist in Stack Auth's API/, '... with the real text');
is(call($emulator, 'GET', '/')->{status}, 404, 'outside /api: 404');
is(call($emulator, 'PUT', '/api/v1/users', json => {})->{status}, 405, 'PUT /users: 405');
is(call($emulator, 'POST', "/api/v1/users/$jordan->{id}", json => {})->{status}, 405, 'POST /users/{id}: 405');

# ------------------------------------------------------------------------------------------------ 5. listing

call($emulator, 'POST', '/__emulator/reset', headers => {});
is(scalar(@{ internal_users($emulator) }), 0, 'POST /__emulator/reset drops every user');

# Created back to back: many share a millisecond, so the order rests on the id as the tie-breaker.
my @visible;
for my $i (1 .. 23)
{
	push @visible, create_user($emulator, {
			primary_email => sprintf('user%02d@%s', $i, $i % 2 ? 'Example.ORG' : 'corp.test'),
			display_name => $i % 3 ? "Member $i" : "Zoë_$i",
			primary_email_auth_enabled => JSON::PP::true }, "user $i");
}
my $anonymous = create_user($emulator, { is_anonymous => JSON::PP::true }, 'an anonymous user');
my $restricted = create_user($emulator,
	{ primary_email => 'banned@example.org', restricted_by_admin => JSON::PP::true,
		restricted_by_admin_reason => 'spam', restricted_by_admin_private_details => 'rule 7' },
	'a user restricted by an admin');
is_deeply($restricted->{restricted_reason}, { type => 'restricted_by_administrator' }, 'restricted_reason');
ok($restricted->{is_restricted} && $restricted->{restricted_by_admin_reason} eq 'spam'
	  && $restricted->{restricted_by_admin_private_details} eq 'rule 7', 'restriction fields stored and returned');
ok($anonymous->{is_anonymous} && $anonymous->{is_restricted}, 'an anonymous user is restricted');
is_deeply($anonymous->{restricted_reason}, { type => 'anonymous' }, '... for being anonymous');

my @sorted = sort { $a->{signed_up_at_millis} <=> $b->{signed_up_at_millis} || $a->{id} cmp $b->{id} } @visible;
sub ids { return [ map { $_->{id} } @_ ] }

$response = call($emulator, 'GET', '/api/v1/users');
is($response->{status}, 200, 'GET /users: 200');
is_deeply(ids(@{ $response->{json}{items} }), ids(@sorted),
	'no limit: every visible user, by signed_up_at then id; anonymous and restricted hidden');
ok($response->{json}{is_paginated}, 'is_paginated');
ok(exists $response->{json}{pagination}{next_cursor} && !defined $response->{json}{pagination}{next_cursor},
	'no limit: next_cursor null');

my (@walked, %pages_seen);
my $cursor;
my $pages = 0;
while (1)
{
	my $page = call($emulator, 'GET', '/api/v1/users?limit=4' . (defined $cursor ? "&cursor=$cursor" : ''))->{json};
	$pages++;
	push @walked, @{ $page->{items} };
	$cursor = $page->{pagination}{next_cursor};
	last unless defined $cursor;
	my $next_first = call($emulator, 'GET', "/api/v1/users?limit=1&cursor=$cursor")->{json}{items}[0]{id};
	is($next_first, $cursor, "page $pages: next_cursor is the first user of the next page") if $pages == 1;
	last if $pages > 20;
}
is($pages, 6, 'limit 4 over 23 users: 6 pages');
is_deeply(ids(@walked), ids(@sorted), 'walking the pages returns every user exactly once, in order');
$response = call($emulator, 'GET', '/api/v1/users?limit=23');
ok(!defined $response->{json}{pagination}{next_cursor}, 'a limit equal to the count: no next page');
$response = call($emulator, 'GET', '/api/v1/users?desc=true&limit=100');
is_deeply(ids(@{ $response->{json}{items} }), [ reverse @{ ids(@sorted) } ], 'desc=true reverses the order');
$response = call($emulator, 'GET', "/api/v1/users?cursor=$missing&limit=5");
is_deeply($response->{json}{items}, [], 'a cursor that names no user: an empty page');

sub listed
{
	my ($query) = @_;
	my $r = call($emulator, 'GET', "/api/v1/users?$query");
	is($r->{status}, 200, "GET /users?$query: 200") or diag($r->{content});
	return [ sort map { $_->{id} } @{ $r->{json}{items} } ];
}
is_deeply(listed('query=EXAMPLE.org'), [ sort map { $_->{id} } grep { $_->{primary_email} =~ /example\.org$/ } @visible ],
	'query: substring of the e-mail, case-insensitive');
is_deeply(listed('query=user07'), [ $visible[6]{id} ], 'query: one e-mail');
is_deeply(listed('query=zo%C3%AB_1'), [ sort map { $_->{id} } grep { $_->{display_name} =~ /^Zoë_1/ } @visible ],
	'query: substring of the display name');
is_deeply(listed("query=$visible[3]{id}"), [ $visible[3]{id} ], 'query: the id');
is_deeply(listed('query=member+1_'), [ sort map { $_->{id} } grep { $_->{display_name} =~ /^Member 1.$/ } @visible ],
	'query: _ is a wildcard (Prisma does not escape it)');
is_deeply(listed('query=banned'), [], 'query does not show restricted users by default');
is_deeply(listed('query=banned&include_restricted=true'), [ $restricted->{id} ], 'include_restricted=true shows them');
is_deeply(listed('include_restricted=true'), [ sort map { $_->{id} } @visible, $restricted ],
	'include_restricted=true: not the anonymous');
is_deeply(listed('include_anonymous=true'), [ sort map { $_->{id} } @visible, $restricted, $anonymous ],
	'include_anonymous=true also includes restricted users');
is_deeply(listed('include_anonymous=true&only_anonymous=true'), [ $anonymous->{id} ], 'only_anonymous=true');
text_error_is(call($emulator, 'GET', '/api/v1/users?only_anonymous=true'), 400,
	'only_anonymous=true requires include_anonymous=true', 'only_anonymous without include_anonymous');
is(call($emulator, 'GET', "/api/v1/users?team_id=$missing&order_by=signed_up_at")->{status}, 200,
	'team_id and order_by are accepted');
schema_error_is(call($emulator, 'GET', '/api/v1/users?email=a@b.c'), 'GET /api/v1/users',
	['query contains unknown properties: email'], 'no exact-email filter: an unknown parameter');
schema_error_is(call($emulator, 'GET', '/api/v1/users?cursor=abc&desc=yes&limit=x'), 'GET /api/v1/users',
	[ 'query.limit must be a `number` type, but the final value was: `NaN` (cast from the value `"x"`).',
		'query.cursor must be a valid UUID',
		'query.desc must be one of the following values: true, false' ],
	'bad cursor, desc and limit');

# Any contact channel matches: after an e-mail change the old address is kept, no longer primary.
call($emulator, 'PATCH', "/api/v1/users/$visible[0]{id}", json => { primary_email => 'renamed@new.example' });
is_deeply(listed('query=user01@'), [ $visible[0]{id} ], 'query matches a former, non-primary e-mail');
is_deeply(listed('query=RENAMED'), [ $visible[0]{id} ], '... and the new one');

# ------------------------------------------------------------------------------------------------ 6. concurrency

{
	my @sockets;
	my $request = "GET /api/v1/users?limit=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	  . join('', map { "$_: $server_headers{$_}\r\n" } sort keys %server_headers) . "\r\n";
	for (1 .. 40)
	{
		my $socket = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $emulator->{port}, Timeout => 5)
		  or last;
		push @sockets, $socket;
	}
	is(scalar(@sockets), 40, '40 connections open at once');
	my $started = time();
	print {$_} $request for @sockets;
	my $answered = 0;
	for my $socket (@sockets)
	{
		$socket->timeout(10);
		my $line = <$socket> // '';
		$answered++ if $line =~ m{^HTTP/1\.1 200};
	}
	is($answered, 40, 'all 40 keep-alive connections answered while all are open');
	ok(time() - $started < 4, 'without waiting for a thread to free up');
	close($_) for @sockets;
}
{
	my @children;
	for my $i (1 .. 8)
	{
		my $pid = fork() // die "fork: $!";
		if ($pid == 0)
		{
			my $r = HTTP::Tiny->new(timeout => 20)->request('POST', "$emulator->{base}/api/v1/users",
				{ headers => { %server_headers, 'content-type' => 'application/json' },
				  content => '{"primary_email":"race@example.com","primary_email_auth_enabled":true}' });
			POSIX::_exit($r->{status} == 201 ? 0 : $r->{status} == 409 ? 1 : 2);
		}
		push @children, $pid;
	}
	my %outcomes;
	for (@children) { waitpid($_, 0); $outcomes{ $? >> 8 }++ }
	is_deeply(\%outcomes, { 0 => 1, 1 => 7 }, 'eight concurrent creates of one e-mail: one 201, seven 409');
}

# ------------------------------------------------------------------------------------------------ 7. faults

# A fresh client per request: HTTP::Tiny retries some requests on a reused connection that closed.
sub fresh { return (http => HTTP::Tiny->new(timeout => 20, keep_alive => 0)) }
sub count_users { return scalar(@{ internal_users($emulator) }) }

my $settings = set_faults($emulator, { fault_rate => 0.6 });
is_deeply([ @$settings{qw(fault_429 fault_500 fault_drop fault_lost_response fault_html fault_malformed_json)} ],
	[ 0.1, 0.1, 0.1, 0.1, 0.1, 0.1 ], 'fault_rate spreads evenly over the six kinds');
$response = call($emulator, 'POST', '/__emulator/faults', headers => {}, raw => '{"fault_500": 2}');
is($response->{status}, 400, 'a probability over 1 is refused');
set_faults($emulator, { fault_rate => 0 });

my $count = count_users();
set_faults($emulator, { fault_429 => 1, retry_after => 3 });
$response = call($emulator, 'POST', '/api/v1/users', json => { primary_email => 'f429@example.com' }, fresh());
is($response->{status}, 429, 'fault 429: status 429');
is($response->{headers}{'retry-after'}, '3', 'fault 429: Retry-After');
like($response->{content}, qr/"message":"Artificial development rate limit triggered/, 'fault 429: the dev limiter body');
is(call($emulator, 'GET', '/api/v1/users', fresh())->{status}, 429, 'fault 429 applies to reads as well');
is(call($emulator, 'GET', '/__emulator/stats', headers => {})->{status}, 200, 'the control API is never faulted');
set_faults($emulator, { fault_429 => 0, fault_500 => 1 });
$response = call($emulator, 'POST', '/api/v1/users', json => { primary_email => 'f500@example.com' }, fresh());
is($response->{status}, 500, 'fault 500: status 500');
like($response->{headers}{'content-type'}, qr{^text/plain}, 'fault 500: text/plain');
set_faults($emulator, { fault_500 => 0, fault_drop => 1 });
$response = call($emulator, 'POST', '/api/v1/users', json => { primary_email => 'fdrop@example.com' }, fresh());
is($response->{status}, 599, 'fault drop: a transport error') or diag($response->{content});
is(count_users(), $count, '429, 500 and drop created nobody');

set_faults($emulator, { fault_drop => 0, fault_lost_response => 1 });
is(call($emulator, 'GET', '/api/v1/users?limit=1', fresh())->{status}, 200, 'lost-response leaves reads alone');
$response = call($emulator, 'POST', '/api/v1/users',
	json => { primary_email => 'Lost@Example.com', primary_email_auth_enabled => JSON::PP::true }, fresh());
is($response->{status}, 599, 'fault lost-response: a transport error') or diag($response->{content});
is(count_users(), $count + 1, 'fault lost-response: the user was created all the same');
set_faults($emulator, { fault_lost_response => 0 });
$response = call($emulator, 'GET', '/api/v1/users?query=lost%40example.com&include_anonymous=true');
is(scalar(@{ $response->{json}{items} }), 1, 'the lost user is found by listing with query=<email>');
known_error_is(call($emulator, 'POST', '/api/v1/users',
		json => { primary_email => 'lost@example.com', primary_email_auth_enabled => JSON::PP::true }),
	409, 'USER_EMAIL_ALREADY_EXISTS', 'retrying the lost create');

# An update and a delete whose answers are lost: carried out all the same. Reads keep their answers.
my $lost_id = $response->{json}{items}[0]{id};
my $gone_id = call($emulator, 'POST', '/api/v1/users', json => { primary_email => 'gone@example.com' })->{json}{id};
set_faults($emulator, { fault_lost_response => 1 });
$response = call($emulator, 'PATCH', "/api/v1/users/$lost_id", json => { display_name => 'Patched' }, fresh());
is($response->{status}, 599, 'fault lost-response on an update: a transport error') or diag($response->{content});
$response = call($emulator, 'DELETE', "/api/v1/users/$gone_id", fresh());
is($response->{status}, 599, 'fault lost-response on a delete: a transport error') or diag($response->{content});
set_faults($emulator, { fault_lost_response => 0 });
is(call($emulator, 'GET', "/api/v1/users/$lost_id")->{json}{display_name}, 'Patched',
	'fault lost-response: the update was carried out all the same');
is(call($emulator, 'GET', "/api/v1/users/$gone_id")->{status}, 404,
	'fault lost-response: the delete was carried out all the same');

# html: a proxy's 502 page, nothing done; malformed-json: carried out, answered with a body no parser reads.
set_faults($emulator, { fault_html => 1 });
$response = call($emulator, 'POST', '/api/v1/users', json => { primary_email => 'fhtml@example.com' }, fresh());
is($response->{status}, 502, 'fault html: status 502');
like($response->{headers}{'content-type'}, qr{^text/html}, 'fault html: text/html');
like($response->{content}, qr{<title>502 Bad Gateway</title>}, 'fault html: a whole HTML page');
is(count_users(), $count + 1, 'fault html: nobody created');
set_faults($emulator, { fault_html => 0, fault_malformed_json => 1 });
$response = call($emulator, 'POST', '/api/v1/users', json => { primary_email => 'fmalformed@example.com' }, fresh());
is($response->{status}, 201, 'fault malformed-json: the status of the request carried out');
like($response->{headers}{'content-type'}, qr{^application/json}, 'fault malformed-json: still says JSON');
ok(!eval { $json->decode($response->{content}); 1 }, 'fault malformed-json: the body is not JSON');
is(count_users(), $count + 2, 'fault malformed-json: the user was created all the same');
$response = call($emulator, 'GET', '/api/v1/users', fresh());
is($response->{status}, 200, 'fault malformed-json applies to reads: status 200');
ok(!eval { $json->decode($response->{content}); 1 }, 'fault malformed-json applies to reads: not JSON');
set_faults($emulator, { fault_malformed_json => 0 });

my $stats = $json->decode(call($emulator, 'GET', '/__emulator/stats', headers => {})->{content});
ok($stats->{faults}{429} >= 2 && $stats->{faults}{500} >= 1 && $stats->{faults}{drop} >= 1
	  && $stats->{faults}{'lost-response'} >= 1 && $stats->{faults}{html} == 1
	  && $stats->{faults}{'malformed-json'} == 2, 'stats count faults by kind');
is($stats->{unanswered_creates}, 2, 'stats: the creates whose answer was lost or unreadable');
is("$stats->{unanswered_updates} $stats->{unanswered_deletes}", '1 1',
	'stats: the update and the delete whose answer was lost');
ok($stats->{updates} >= 1 && $stats->{deletes} >= 1, 'stats count updates and deletes carried out');
ok($stats->{creates} >= 1 && $stats->{requests_by_status}{201} >= 1, 'stats count creates and statuses');

SKIP:
{
	skip 'curl is not installed', 2 unless grep { -x "$_/curl" } split /:/, $ENV{PATH};
	my @curl = ('curl', '-sS', '-o', '/dev/null', '--max-time', '10', map({ ('-H', "$_: $server_headers{$_}") }
			sort keys %server_headers), '-H', 'content-type: application/json');
	set_faults($emulator, { fault_drop => 1 });
	system(@curl, '-d', '{}', "$emulator->{base}/api/v1/users", '--stderr', "$tmp/curl.err");
	is($? >> 8, 52, 'curl: drop is "Empty reply from server" (exit 52)');
	set_faults($emulator, { fault_drop => 0, fault_lost_response => 1 });
	system(@curl, '-d', '{}', "$emulator->{base}/api/v1/users", '--stderr', "$tmp/curl.err");
	is($? >> 8, 18, 'curl: lost-response is a partial transfer (exit 18)');
	set_faults($emulator, { fault_lost_response => 0 });
}

# ------------------------------------------------------------------------------------------------ 8. flags

my $strict = start_emulator('strict', '--no-password-sign-in', '--oauth-providers', 'github,gitlab',
	'--fault-429', '1', '--retry-after', '9');
$response = call($strict, 'POST', '/api/v1/users', json => {});
is($response->{status}, 429, '--fault-429 1 from the command line');
is($response->{headers}{'retry-after'}, '9', '--retry-after');
set_faults($strict, { fault_429 => 0 });
text_error_is(call($strict, 'POST', '/api/v1/users', json => { primary_email => 'p@x.io', password_hash => $bcrypt_hash }),
	400, 'Password auth not enabled in the project', '--no-password-sign-in: password_hash');
text_error_is(call($strict, 'POST', '/api/v1/users', json => { primary_email => 'p@x.io', password => 'secret' }),
	400, 'Password auth not enabled in the project', '--no-password-sign-in: password');
text_error_is(call($strict, 'POST', '/api/v1/users', json => { oauth_providers => [ { id => 'google', account_id => '1' } ] }),
	400, 'OAuth provider google not found', '--oauth-providers without google');
create_user($strict, { oauth_providers => [ { id => 'gitlab', account_id => '1' } ] }, '--oauth-providers with gitlab');
is(scalar(@{ internal_users($strict) }), 1, 'the failed creates left nothing behind');
$http = HTTP::Tiny->new(timeout => 20, keep_alive => 1);    # drops the connection kept to it
is(stop_emulator($strict), 0, 'the second emulator stops on SIGTERM');

# ------------------------------------------------------------------------------------------------ 9. stop, secrets

undef $http;    # close the keep-alive connection, so that shutdown need not wait for it
is(stop_emulator($emulator), 0, 'SIGTERM: a clean exit (status 0)');
for my $emu ($emulator, $strict)
{
	my $output = slurp($emu->{stdout}) . slurp($emu->{stderr});
	unlike($output, qr/\Q$secret\E/, "the secret key is not in the output of the emulator on port $emu->{port}");
}
my $log = slurp($emulator->{stderr});
like($log, qr{^stack_auth_emulator: POST /api/v1/users -> 201 }m, 'one log line per request on stderr');
like($log, qr{ fault=lost-response$}m, 'the log names injected faults');
unlike($log, qr/x-stack|jordan/i, 'the log holds no headers and no e-mails');

done_testing();
