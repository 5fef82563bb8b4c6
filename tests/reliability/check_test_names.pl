#!/usr/bin/perl
# doctest_discover_tests cuts a test name at ';' into two names that match no test, and a
# ctest run that matches nothing passes: such a test would silently never run. A name may be
# spread over several string literals, so they are joined before looking.
use strict;
use warnings;
use File::Find;

my $bad = 0;
find(sub {
    return unless /\.cpp$/;
    open my $fh, '<', $_ or die "$File::Find::name: $!";
    local $/;
    my $text = <$fh>;
    while ($text =~ /TEST_CASE(?:_TEMPLATE)?\(\s*((?:"(?:[^"\\]|\\.)*"\s*)+)/g) {
        (my $name = $1) =~ s/"\s*"//g;
        if ($name =~ /;/) {
            print "$File::Find::name: a test name holds ';': $name\n";
            $bad = 1;
        }
    }
}, $ARGV[0]);
exit $bad;
